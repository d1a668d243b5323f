"""The semantic half of the ranking: passage vectors of an index version and the model that made them.

A version built with a model stores one unit vector per passage (``vectors.npy``, float32: the dtype
the scan multiplies, so it is memory-mapped and the workers of one server share its pages; versions
built before stored float16, which is converted when opened) and its int8 pre-scan (scan.py), and
names the model in its manifest (id and content hash). Serving opens the vectors only with the
very model that made them: a question embedded by another model would be compared with vectors
of a different space, so then the version is served lexically, with one log line saying why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.index.embedding import Encoder, ModelUnavailable, default_model_dir
from service.index.scan import Bounds, PassageScan, open_scan
from service.index.version import VECTORS

log = logging.getLogger("healthfaq.semantic")
NO_MODEL = frozenset({"none", "off", "false", "0"})


def load_encoder(setting: str) -> Encoder | None:
    """The model a setting names: "" for the one shipped with the package, a folder, or "none".

    None (with a warning saying why) when there is no usable model: search is then lexical.
    """
    if setting.strip().lower() in NO_MODEL:
        return None
    folder = Path(setting) if setting.strip() else default_model_dir()
    try:
        return Encoder(folder)
    except ModelUnavailable as exc:
        log.warning("no sentence-embedding model (%s): search is lexical only", exc)
        return None


@dataclass(frozen=True)
class SemanticIndex:
    """A version's passage vectors with the model that made them."""

    encoder: Encoder
    vectors: np.ndarray  # float32, one unit row per passage (read-only, memory-mapped when stored so)
    scan: PassageScan | None = None  # the int8 pre-scan; None: every question scans exactly

    def embed(self, text: str) -> np.ndarray:
        return self.encoder.embed_query(text)

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.embed_questions(texts)

    def similarities(self, question_vector: np.ndarray) -> np.ndarray:
        """Exact cosine of every passage with the question (both unit length)."""
        return self.vectors @ question_vector

    def cosines(self, question_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosines of the given rows only."""
        if not len(rows):
            return np.empty(0, dtype=np.float32)
        return self.vectors[rows] @ question_vector

    def bounds(self, question_vector: np.ndarray, span: tuple[int, int] | None = None) -> Bounds:
        """Bounds of every passage's cosine: exact over ``span`` (an article's rows: only those are
        read; the rest get -1), else the int8 pre-scan's, else exact everywhere."""
        if span is not None:
            start, end = span
            cosines = np.full(len(self.vectors), -1.0, dtype=np.float32)
            cosines[start:end] = self.vectors[start:end] @ question_vector
            return Bounds.of_cosines(cosines)
        if self.scan is None:
            return Bounds.of_cosines(self.similarities(question_vector))
        return self.scan.bounds(question_vector)


def open_semantic(folder: Path, described: dict | None, encoder: Encoder | None, rows: int) -> SemanticIndex | None:
    """The version's vectors when the serving model is the one that made them, else None."""
    if not described:
        return None
    if encoder is None:
        log.warning(
            "index version %s has %s vectors but this server has no model: lexical search only",
            folder.name,
            described.get("model"),
        )
        return None
    if described.get("hash") != encoder.content_hash:
        log.warning(
            "index version %s was built with model %s (%s); this server has %s (%s): lexical search only",
            folder.name,
            described.get("model"),
            described.get("hash"),
            encoder.model_id,
            encoder.content_hash,
        )
        return None
    vectors = np.asarray(np.load(folder / VECTORS, mmap_mode="r"))  # a plain read-only array over the map
    if vectors.dtype != np.float32:  # a version built before vectors were stored as float32
        vectors = vectors.astype(np.float32)
        vectors.flags.writeable = False
    if vectors.shape != (rows, encoder.dimensions):
        raise ValueError(f"{VECTORS} holds {vectors.shape}, expected ({rows}, {encoder.dimensions})")
    return SemanticIndex(encoder=encoder, vectors=vectors, scan=open_scan(folder, rows, encoder.dimensions))
