"""First-pass ranking: BM25F over the Whoosh index's postings, precomputed as one sparse matrix.

Whoosh is the index of record and the only source of the statistics: term frequencies per field,
field lengths, document frequencies, and positions, which say which stems stand side by side
(the phrase bonus). Stepping through posting lists in Python costs milliseconds per common term
at query time, so ``derive_matrix`` reads every posting back once at build time (postings.py)
and turns it into each (passage, column) BM25F weight; a query is then a sum of a few columns
(numpy). Columns are the stems, then every adjacent pair of stems found in some passage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.index.frozen import frozen


def pair_key(left, right):
    """One int64 for an ordered pair of stem columns (plain ints or numpy arrays of them)."""
    return (left << 32) | right


@dataclass(frozen=True)
class MatrixArrays:
    """What a TermMatrix is made of; saved as one .npz file in the index version."""

    data: np.ndarray  # BM25F weight of each (passage, column), column-compressed
    indices: np.ndarray  # passage row of each weight
    indptr: np.ndarray  # column c's weights are data[indptr[c]:indptr[c + 1]]
    n_docs: int
    idf: np.ndarray  # per column
    vocab: list[str]  # the stems; stem i is column i
    pair_keys: np.ndarray  # sorted pair_key(left column, right column) of every adjacent pair
    pair_cols: np.ndarray  # the column of each of those pairs

    def save(self, path: Path) -> None:
        np.savez(
            path,
            data=self.data,
            indices=self.indices,
            indptr=self.indptr,
            n_docs=np.array(self.n_docs),
            idf=self.idf,
            vocab=np.array(self.vocab, dtype=str),
            pair_keys=self.pair_keys,
            pair_cols=self.pair_cols,
        )

    @classmethod
    def load(cls, path: Path) -> MatrixArrays:
        with np.load(path, allow_pickle=False) as npz:
            return cls(
                data=frozen(npz["data"]),
                indices=frozen(npz["indices"]),
                indptr=frozen(npz["indptr"]),
                n_docs=int(npz["n_docs"]),
                idf=frozen(npz["idf"]),
                vocab=npz["vocab"].tolist(),
                pair_keys=frozen(npz["pair_keys"]),
                pair_cols=frozen(npz["pair_cols"]),
            )


class TermMatrix:
    """The loaded weight matrix: term lookup and vectorised scoring."""

    def __init__(self, arrays: MatrixArrays) -> None:
        self.data, self.indices, self.indptr = arrays.data, arrays.indices, arrays.indptr
        self.n_docs = arrays.n_docs
        self.idf = arrays.idf
        self.term_ids = {t: i for i, t in enumerate(arrays.vocab)}
        self.pair_keys, self.pair_cols = arrays.pair_keys, arrays.pair_cols
        self.max_idf = float(math.log(1.0 + (self.n_docs + 0.5) / 0.5))

    def stem_df(self) -> dict[str, int]:
        """How many passages hold each stem (in any ranked field)."""
        df = np.diff(self.indptr)
        return {t: int(df[c]) for t, c in self.term_ids.items()}

    def column(self, term: str) -> int | None:
        return self.term_ids.get(term)

    def pair_column(self, left: str, right: str) -> int | None:
        a, b = self.term_ids.get(left), self.term_ids.get(right)
        if a is None or b is None:
            return None
        key = pair_key(a, b)
        at = int(np.searchsorted(self.pair_keys, key))
        if at < len(self.pair_keys) and self.pair_keys[at] == key:
            return int(self.pair_cols[at])
        return None

    def rows_of(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.indptr[col], self.indptr[col + 1]
        return self.indices[start:end], self.data[start:end]

    def score(self, cols: Sequence[int], weights: Sequence[float]) -> np.ndarray:
        """Weighted sum of the given columns for every passage (dense, one float per passage)."""
        if not cols:
            return np.zeros(self.n_docs, dtype=np.float32)
        parts = [self.rows_of(c) for c in cols]
        rows = np.concatenate([r for r, _ in parts])
        vals = np.concatenate([d * w for (_, d), w in zip(parts, weights)])
        return np.bincount(rows, weights=vals, minlength=self.n_docs)

    def coverage(self, groups: Sequence[tuple[Sequence[int], float]]) -> np.ndarray:
        """Per passage, the summed weight of the groups (alternative columns) it matches."""
        single_rows, single_weights = [], []
        out: np.ndarray | None = None
        for cols, weight in groups:
            if len(cols) == 1:  # a column holds each passage once: no double counting
                rows = self.rows_of(cols[0])[0]
                single_rows.append(rows)
                single_weights.append(np.full(len(rows), weight, dtype=np.float64))
            elif cols:
                hit = np.zeros(self.n_docs, dtype=bool)
                for c in cols:
                    hit[self.rows_of(c)[0]] = True
                out = hit * weight if out is None else out + hit * weight
        if single_rows:
            counted = np.bincount(
                np.concatenate(single_rows), weights=np.concatenate(single_weights), minlength=self.n_docs
            )
            out = counted if out is None else out + counted
        return out if out is not None else np.zeros(self.n_docs)
