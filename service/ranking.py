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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from whoosh import index as whoosh_index

from .postings import FieldPostings, read_fields
from .schema import FIELD_BOOSTS, RANKED_FIELDS, SECTION, TEXT_FIELD, TITLE

K1 = 1.2
# Length normalisation per field: titles are short and repeated, so barely normalised.
FIELD_B = {TITLE: 0.3, SECTION: 0.4, TEXT_FIELD: 0.75}


def pair_key(left, right):
    """One int64 for an ordered pair of stem columns (plain ints or numpy arrays of them)."""
    return (left << 32) | right


@dataclass(frozen=True)
class MatrixArrays:
    """What a TermMatrix is made of; saved as one .npz file in the index version."""

    data: np.ndarray       # BM25F weight of each (passage, column), column-compressed
    indices: np.ndarray    # passage row of each weight
    indptr: np.ndarray     # column c's weights are data[indptr[c]:indptr[c + 1]]
    n_docs: int
    idf: np.ndarray        # per column
    vocab: list[str]       # the stems; stem i is column i
    pair_keys: np.ndarray  # sorted pair_key(left column, right column) of every adjacent pair
    pair_cols: np.ndarray  # the column of each of those pairs

    def save(self, path: Path) -> None:
        np.savez(path, data=self.data, indices=self.indices, indptr=self.indptr,
                 n_docs=np.array(self.n_docs), idf=self.idf, vocab=np.array(self.vocab, dtype=str),
                 pair_keys=self.pair_keys, pair_cols=self.pair_cols)

    @classmethod
    def load(cls, path: Path) -> "MatrixArrays":
        with np.load(path, allow_pickle=False) as npz:
            return cls(data=npz["data"], indices=npz["indices"], indptr=npz["indptr"],
                       n_docs=int(npz["n_docs"]), idf=npz["idf"], vocab=npz["vocab"].tolist(),
                       pair_keys=npz["pair_keys"], pair_cols=npz["pair_cols"])


def derive_matrix(index_folder: Path) -> MatrixArrays:
    """The BM25F weights of every passage and column, from the Whoosh index in ``index_folder``."""
    ix = whoosh_index.open_dir(str(index_folder))
    try:
        with ix.reader() as reader:
            n_docs = reader.doc_count_all()
            postings = read_fields(reader, RANKED_FIELDS)
    finally:
        ix.close()
    return weigh(postings, n_docs)


def weigh(postings: dict[str, FieldPostings], n_docs: int) -> MatrixArrays:
    """BM25F over stems and adjacent stem pairs (from positions): per field, frequencies over the
    length-normalised field length (its stems and pairs, counted exactly from the postings, not
    Whoosh's one-byte stored lengths), boosted and summed over fields, then saturated with k1 and
    weighted by idf."""
    vocab = sorted({t for p in postings.values() for t in p.terms})
    column = {t: c for c, t in enumerate(vocab)}
    stems = {name: _stem_columns(postings[name], column, n_docs) for name in RANKED_FIELDS}
    pairs = {name: _adjacent_pairs(*stems[name]) for name in RANKED_FIELDS}
    pair_keys, pair_ids = np.unique(np.concatenate([keys for keys, _ in pairs.values()]), return_inverse=True)
    pair_ids = np.split(len(vocab) + pair_ids, np.cumsum([len(pairs[name][0]) for name in RANKED_FIELDS])[:-1])
    n_cols = len(vocab) + len(pair_keys)
    tfp = None
    for name, pair_cols in zip(RANKED_FIELDS, pair_ids):
        sequence, starts = stems[name]
        docs = np.concatenate([np.repeat(np.arange(n_docs), np.diff(starts)), pairs[name][1]])
        counts = sp.csr_matrix((np.ones(len(docs), dtype=np.float32), (docs, np.concatenate([sequence, pair_cols]))),
                               shape=(n_docs, n_cols))
        counts.sum_duplicates()
        lengths = np.asarray(counts.sum(axis=1)).ravel().astype(np.float64)
        avg = lengths.mean() or 1.0
        norm = 1.0 - FIELD_B[name] + FIELD_B[name] * lengths / avg
        scaled = sp.diags(FIELD_BOOSTS[name] / norm) @ counts
        tfp = scaled if tfp is None else tfp + scaled
    tfp = tfp.tocsc()
    tfp.sort_indices()
    df = np.diff(tfp.indptr)
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    tfp.data = (np.repeat(idf, df) * tfp.data * (K1 + 1) / (K1 + tfp.data)).astype(np.float32)
    return MatrixArrays(data=tfp.data, indices=tfp.indices.astype(np.int32), indptr=tfp.indptr.astype(np.int64),
                        n_docs=n_docs, idf=idf, vocab=vocab, pair_keys=pair_keys.astype(np.int64),
                        pair_cols=(len(vocab) + np.arange(len(pair_keys))).astype(np.int32))


def _stem_columns(field: FieldPostings, column: dict[str, int], n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Every document's field as its sequence of stem columns, all documents concatenated, and
    where each document starts. A field's positions number its tokens 0, 1, 2, ... so each token
    goes straight to its place: no sort."""
    cols = np.repeat(np.array([column[t] for t in field.terms], dtype=np.int64)[field.term_ids], field.freqs)
    docs = np.repeat(field.docnums, field.freqs)
    starts = np.concatenate([[0], np.cumsum(np.bincount(docs, minlength=n_docs))])
    sequence = np.empty(len(cols), dtype=np.int64)
    sequence[starts[docs] + field.positions] = cols
    return sequence, starts


def _adjacent_pairs(sequence: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pair_key, document) of every two stems next to each other in one document's field."""
    docs = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    adjacent = docs[1:] == docs[:-1]
    return pair_key(sequence[:-1], sequence[1:])[adjacent], docs[:-1][adjacent]


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
        out = None
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
            counted = np.bincount(np.concatenate(single_rows), weights=np.concatenate(single_weights),
                                  minlength=self.n_docs)
            out = counted if out is None else out + counted
        return out if out is not None else np.zeros(self.n_docs)
