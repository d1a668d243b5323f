"""A version's passage vectors: every passage embedded (through the vector cache, so an unchanged
passage is never embedded twice), saved as ``vectors.npy`` with its int8 pre-scan beside it; and
every sentence of every passage embedded on its own through the same cache (returned for
index/sentences.py to store)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from service.build.scanfile import write_scan
from service.build.vectorcache import VectorCache, cached_passage_vectors
from service.index import schema as S
from service.index.embedding import Encoder
from service.index.version import VECTORS


def passage_text(fields: dict) -> str:
    """What is embedded for a passage: its article's title, its section heading, its text."""
    parts = [fields[S.TITLE]]
    if fields[S.SECTION] != fields[S.TITLE]:
        parts.append(fields[S.SECTION])
    parts.append(fields[S.TEXT_FIELD])
    return "\n".join(parts)


def write_vectors(
    folder: Path, stored: list[dict], encoder: Encoder, cache_dir: Path, threads: int, sentences: list[str]
) -> tuple[dict, np.ndarray]:
    """Embed every passage and every sentence (texts the cache knows are not embedded again; one
    cache, so it keeps both), save the passage vectors into the version ``folder``; returns the
    manifest's description of the model and the sentence vectors (float32, in order)."""
    cache = VectorCache(cache_dir, encoder.passage_key, encoder.dimensions)
    threads = threads if threads > 0 else (os.cpu_count() or 1)
    texts = [passage_text(f) for f in stored]
    embedded = cached_passage_vectors(
        encoder,
        cache,
        texts + sentences,
        threads=threads,
        progress=sys.stderr,
        what=("embedding passages and sentences", "text"),
    )
    vectors = embedded[: len(texts)].astype(np.float32, copy=False)  # views: no copy of 200k rows
    np.save(folder / VECTORS, vectors)
    write_scan(folder, vectors)
    return {
        "model": encoder.model_id,
        "hash": encoder.content_hash,
        "dimensions": encoder.dimensions,
        "passage_tokens": encoder.passage_max_tokens,
    }, embedded[len(texts) :].astype(np.float32, copy=False)
