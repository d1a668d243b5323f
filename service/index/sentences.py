"""A version's sentences: where each passage's sentences lie in its text, and their vectors.

The build splits every passage into sentences (build/sentences.py) and stores

    sentences.npz          first: int32 (passages + 1), passage r's sentences are rows
                           first[r]:first[r + 1]; spans: int32 (sentences, 2), each sentence's
                           [start, end) in its passage's text; with a model also scales: float32
                           (sentences,), see below
    sentence_vectors.npy   with a model: each sentence embedded on its own, int8 (sentences,
                           dimensions); a row times its scale is the unit vector, to about 1%

so the server can say which sentence of a passage answers a question without splitting text or
running the model per result: a handful of int8 dot products per hit. int8 and not float32 because
MedQuAD's passages hold ~5 sentences each: float32 would be 5× the passage vectors, and choosing a
passage's best sentence needs the order of a few cosines, not their fourth digit.

Both files are optional within index format 4: a version built before them opens, and its
snippets are chosen by words as before (``read_sentences`` returns None).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.index import version as V
from service.index.frozen import frozen

QUANTISE_ROWS = 8192


@dataclass(frozen=True)
class Sentences:
    """Each passage's sentence spans and, when built with the serving model, their vectors."""

    first: np.ndarray  # int32, passages + 1
    spans: np.ndarray  # int32, (sentences, 2)
    vectors: np.ndarray | None = None  # int8, (sentences, dimensions), memory-mapped
    scales: np.ndarray | None = None  # float32, (sentences,)

    def rows_of(self, passage_row: int) -> range:
        return range(int(self.first[passage_row]), int(self.first[passage_row + 1]))

    def spans_of(self, passage_row: int) -> list[tuple[int, int]]:
        rows = self.rows_of(passage_row)
        return [(int(s), int(e)) for s, e in self.spans[rows.start : rows.stop]]

    def cosines(self, passage_row: int, question_vector: np.ndarray) -> np.ndarray | None:
        """Approximate cosine of each of the passage's sentences with the question; None without
        vectors."""
        if self.vectors is None or self.scales is None:
            return None
        rows = self.rows_of(passage_row)
        block = self.vectors[rows.start : rows.stop].astype(np.float32)
        return (block @ question_vector) * self.scales[rows.start : rows.stop]


def write_sentences(folder: Path, first: np.ndarray, spans: np.ndarray, vectors: np.ndarray | None) -> None:
    """Store the spans and, given float32 unit vectors (one per span), their int8 form."""
    arrays: dict[str, np.ndarray] = {"first": first.astype(np.int32), "spans": spans.astype(np.int32).reshape(-1, 2)}
    if vectors is not None:
        peak = np.abs(vectors).max(axis=1, initial=0.0)
        peak[peak == 0] = 1.0
        arrays["scales"] = (peak / 127.0).astype(np.float32)
        quantised = np.empty(vectors.shape, dtype=np.int8)
        for start in range(0, len(vectors), QUANTISE_ROWS):  # in blocks: no float copy of them all
            block = slice(start, start + QUANTISE_ROWS)
            quantised[block] = np.round(vectors[block] / arrays["scales"][block, None])
        np.save(folder / V.SENTENCE_VECTORS, quantised)
    np.savez(folder / V.SENTENCES, **arrays)  # type: ignore[arg-type]  # numpy's stub takes one keyword for all


def read_sentences(folder: Path, passages: int, dimensions: int | None) -> Sentences | None:
    """The stored sentences of a version with ``passages`` passages; their vectors only when
    ``dimensions`` is given (the version is served with the model that made them). None for a
    version built before sentences were stored. A damaged file raises ValueError (the version is
    refused)."""
    if not (folder / V.SENTENCES).is_file():
        return None
    with np.load(folder / V.SENTENCES, allow_pickle=False) as stored:
        first, spans = stored["first"], stored["spans"]
        scales = stored["scales"] if "scales" in stored.files else None
    count = len(spans)
    if first.shape != (passages + 1,) or spans.shape != (count, 2) or first[0] != 0 or first[-1] != count:
        raise ValueError(f"{V.SENTENCES}: {first.shape} offsets and {spans.shape} spans for {passages} passages")
    if np.any(np.diff(first) < 0) or np.any(spans[:, 1] < spans[:, 0]):
        raise ValueError(f"{V.SENTENCES}: offsets or spans out of order")
    vectors = None
    if dimensions is not None and scales is not None:
        vectors = np.asarray(np.load(folder / V.SENTENCE_VECTORS, mmap_mode="r"))
        if vectors.shape != (count, dimensions) or vectors.dtype != np.int8 or scales.shape != (count,):
            raise ValueError(
                f"{V.SENTENCE_VECTORS} holds {vectors.shape} {vectors.dtype}, expected ({count}, {dimensions})"
            )
    return Sentences(
        first=frozen(first.astype(np.int64)),
        spans=frozen(spans.astype(np.int64)),
        vectors=vectors,
        scales=frozen(scales.astype(np.float32)) if vectors is not None and scales is not None else None,
    )
