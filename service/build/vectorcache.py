"""Passage vectors kept between builds, so a rebuild embeds only the passages whose text changed.

Keyed by (the encoder's ``passage_key`` — model content hash and cut length —, sha256 of the
passage text). One file per passage key, ``<folder>/<passage_key>.npz``, holding the text hashes
and float16 vectors (what the index stores; half the disk of float32). Written whole to a
temporary file in the same folder and moved into place with ``os.replace``: a reader, or a build
killed mid-write, sees the old file or the new one, never half of one.

Size bound: a build keeps exactly the entries of the passages it used (``save(keep=...)``) and
deletes the files of other passage keys (another model). The cache is therefore never larger than
the corpus's own vectors (MedQuAD: ~32k × 384 × 2 bytes ≈ 24 MB), needs no size setting, and holds
nothing for deleted text. The cost: reverting an edit re-embeds the reverted passages (seconds).

A long cold build writes a checkpoint every CHECKPOINT_PASSAGES new vectors, so a killed build
resumes where it stopped instead of starting over.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from service.build.progress import Progress
from service.index.embedding import Encoder

KEY_BYTES = 16  # 128 bits of sha256: no collision among any corpus's passages
CHECKPOINT_PASSAGES = 2048
log = logging.getLogger("healthfaq.vectorcache")


def text_key(text: str) -> bytes:
    """The cache key of one passage text."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


class VectorCache:
    """The vectors one encoder computed for passage texts, loaded from and saved to ``folder``."""

    def __init__(self, folder: Path | str, passage_key: str, dimensions: int) -> None:
        self.folder = Path(folder)
        self.passage_key = passage_key
        self.dimensions = dimensions
        self.path = self.folder / f"{passage_key}.npz"
        self._vectors: dict[bytes, np.ndarray] = self._load()

    def __len__(self) -> int:
        return len(self._vectors)

    def lookup(self, keys: Sequence[bytes]) -> tuple[np.ndarray, list[int]]:
        """float32 (len(keys), dimensions) with the cached rows filled (others zero), and the
        indices of the keys not in the cache."""
        vectors = np.zeros((len(keys), self.dimensions), dtype=np.float32)
        missing = []
        for row, key in enumerate(keys):
            cached = self._vectors.get(key)
            if cached is None:
                missing.append(row)
            else:
                vectors[row] = cached
        return vectors, missing

    def store(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Remember vectors (in memory until ``save``)."""
        if len(keys) != len(vectors) or (len(vectors) and vectors.shape[1] != self.dimensions):
            raise ValueError(f"{len(keys)} keys for vectors of shape {vectors.shape}")
        for key, vector in zip(keys, vectors.astype(np.float16)):
            self._vectors[key] = vector

    def save(self, keep: Iterable[bytes] | None = None) -> None:
        """Write the cache atomically; with ``keep``, only those entries survive (the size bound),
        and files of other passage keys are deleted."""
        if keep is not None:
            wanted = dict.fromkeys(keep)
            self._vectors = {key: self._vectors[key] for key in wanted if key in self._vectors}
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(self._vectors), dtype=np.uint8).reshape(-1, KEY_BYTES)
        vectors = (
            np.stack(list(self._vectors.values()))
            if self._vectors
            else np.zeros((0, self.dimensions), dtype=np.float16)
        )
        _write_atomically(self.path, keys, vectors)
        if keep is not None:
            self._delete_other_models()

    def _load(self) -> dict[bytes, np.ndarray]:
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            log.warning("vector cache %s is unreadable (%s); starting it afresh", self.path, error)
            return {}
        if keys.shape != (len(vectors), KEY_BYTES) or vectors.shape[1:] != (self.dimensions,):
            log.warning("vector cache %s has the wrong shape; starting it afresh", self.path)
            return {}
        return {bytes(key): vector for key, vector in zip(keys, vectors)}

    def _delete_other_models(self) -> None:
        for path in self.folder.glob("*.npz"):
            if path != self.path:
                path.unlink(missing_ok=True)


def cached_passage_vectors(
    encoder: Encoder,
    cache: VectorCache,
    texts: Sequence[str],
    threads: int = 1,
    progress: TextIO | None = None,
    what: tuple[str, str] = ("embedding passages", "passage"),
) -> np.ndarray:
    """Vectors for ``texts`` (float32, rows in order): cached ones reused, the rest embedded with
    ``threads`` threads (progress reported on ``progress`` when given) and added to the cache.

    A text repeated in ``texts`` is embedded once. Every row comes from the cache's float16 copy,
    so a warm build returns exactly what the cold one did. The cache is saved keeping only these
    texts' entries.
    """
    keys = [text_key(text) for text in texts]
    vectors, missing_rows = cache.lookup(keys)
    missing = _first_row_of_each_key(keys, missing_rows)
    if missing:
        reporter = Progress(len(missing), *what, progress) if progress else None  # (label, unit)
        for start in range(0, len(missing), CHECKPOINT_PASSAGES):
            rows = missing[start : start + CHECKPOINT_PASSAGES]
            fresh = encoder.embed_passages([texts[row] for row in rows], threads, reporter)
            cache.store([keys[row] for row in rows], fresh)
            if start + CHECKPOINT_PASSAGES < len(missing):
                cache.save()  # checkpoint: a killed build resumes from here
        if reporter is not None:
            reporter.close()
        vectors, _ = cache.lookup(keys)  # fills repeated texts too
    cache.save(keep=keys)
    return vectors


def _first_row_of_each_key(keys: Sequence[bytes], rows: list[int]) -> list[int]:
    first: dict[bytes, int] = {}
    for row in rows:
        first.setdefault(keys[row], row)
    return list(first.values())


def _write_atomically(path: Path, keys: np.ndarray, vectors: np.ndarray) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, keys=keys, vectors=vectors)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
