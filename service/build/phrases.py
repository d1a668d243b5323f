"""Vectors of the safety checks' phrases, as the build gets them: shipped, else embedded.

The emergency check and care advice compare a question with ~4,500 short phrases: the rules'
examples and near misses (``urgent.yaml``), the care signs' lay examples (``care_signs.yaml``) and
the ordinary-question pool (``ordinary_questions.txt``). Embedding them costs seconds that every
build would pay (the tests build many small indexes). So the package ships their vectors by the
default model as a vector cache (``service/data/phrase-vectors/``, the vectorcache.py format:
float16 by model and sha256 of the text). A build takes each phrase's vector from there and
embeds only what it lacks: a phrase an editor added or changed, or every phrase under another
model. The shipped cache is never written by a build.

    python -m service.build.phrases     # after editing a shipped phrase file: re-embed, rewrite the cache
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from service.build.progress import Progress
from service.build.vectorcache import VectorCache, text_key
from service.index.embedding import Encoder, default_model_dir
from service.safety.care import CARE_FILE, parse_care_words
from service.safety.signs import example_phrases, unlike_phrases
from service.safety.urgent import RULES_FILE, parse_rules, rule_signs

POOL_FILE = "ordinary_questions.txt"
SHIPPED_CACHE = "phrase-vectors"


def shipped_dir() -> Path:
    return Path(str(resources.files("service") / "data"))


def parse_pool(text: str) -> list[str]:
    """The questions of a pool text: one a line, blank lines and ``#`` comments skipped, each once."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return list(dict.fromkeys(line for line in lines if line and not line.startswith("#")))


def pool_texts() -> list[str]:
    return parse_pool((shipped_dir() / POOL_FILE).read_text(encoding="utf-8"))


def phrase_vectors(texts: Sequence[str], encoder: Encoder, threads: int = 1) -> np.ndarray:
    """float32 (len(texts), dimensions): shipped vectors where the package has them, the rest
    embedded now (with a progress line when there are many)."""
    shipped = VectorCache(shipped_dir() / SHIPPED_CACHE, encoder.passage_key, encoder.dimensions)
    keys = [text_key(t) for t in texts]
    vectors, missing = shipped.lookup(keys)
    if missing:
        progress = Progress(len(missing), "embedding phrases", "phrase") if len(missing) > 200 else None
        vectors[missing] = encoder.embed_passages([texts[row] for row in missing], threads, progress)
        if progress is not None:
            progress.close()
    return vectors


def shipped_phrases() -> list[str]:
    """Every phrase of the package's own rule, care and pool files."""
    data = shipped_dir()
    signs = rule_signs(parse_rules((data / RULES_FILE).read_text(encoding="utf-8"), RULES_FILE))
    care = parse_care_words((data / CARE_FILE).read_text(encoding="utf-8"), CARE_FILE)
    texts = [
        *example_phrases(signs),
        *unlike_phrases(signs),
        *(e for w in care.values() for e in w.examples),
        *pool_texts(),
    ]
    return list(dict.fromkeys(texts))


def write_shipped(encoder: Encoder) -> int:
    """Embed every shipped phrase and rewrite the shipped cache with exactly those."""
    texts = shipped_phrases()
    cache = VectorCache(shipped_dir() / SHIPPED_CACHE, encoder.passage_key, encoder.dimensions)
    with Progress(len(texts), "embedding shipped phrases", "phrase") as progress:
        cache.store([text_key(t) for t in texts], encoder.embed_passages(texts, 2, progress))
    cache.save(keep=[text_key(t) for t in texts])
    return len(texts)


if __name__ == "__main__":
    print(f"wrote {write_shipped(Encoder(default_model_dir()))} phrase vectors", file=sys.stderr)
