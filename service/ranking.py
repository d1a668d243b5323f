"""First-pass ranking: BM25F over the analysed terms, precomputed as one sparse matrix.

Whoosh stays the index of record (schema, analysis, stored passages, vocabulary); this is the
scoring path. Stepping through posting lists in Python costs milliseconds per common term, so the
build also writes each (passage, term) BM25F weight into a column-compressed matrix, and a query
becomes a sum of a few columns (numpy). Adjacent-term pairs ("spinal cord") are extra columns, which
gives the phrase bonus at the same cost.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from .schema import FIELD_BOOSTS, SECTION, TEXT_FIELD, TITLE
from .termcounts import RANKED_FIELDS, TermCounts, TokenRows

MATRIX_FILE = "ranking.npz"
K1 = 1.2
# Length normalisation per field: titles are short and repeated, so barely normalised.
FIELD_B = {TITLE: 0.3, SECTION: 0.4, TEXT_FIELD: 0.75}
FIELDS = RANKED_FIELDS


def pair_key(left, right):
    """One int64 for an ordered pair of term ids (plain ints or numpy arrays of them)."""
    return (left << 32) | right


def write_matrix(path: Path, counts: TermCounts, passage_ids: Sequence[str]) -> None:
    """BM25F weight of every (passage, term) and (passage, adjacent term pair), saved as CSC."""
    n_docs, n_terms = len(passage_ids), len(counts.terms)
    pairs = {name: _adjacent_pairs(counts.fields[name]) for name in FIELDS}
    pair_keys = np.unique(np.concatenate([keys for keys, _ in pairs.values()])).astype(np.int64)
    pair_cols = (n_terms + np.arange(len(pair_keys))).astype(np.int32)  # pair columns follow the terms
    n_cols = n_terms + len(pair_keys)
    tfp = None
    for name in FIELDS:
        field_counts = _field_counts(counts.fields[name], pairs[name], pair_keys, pair_cols, n_cols)
        lengths = np.asarray(field_counts.sum(axis=1)).ravel().astype(np.float64)
        avg = lengths.mean() or 1.0
        norm = 1.0 - FIELD_B[name] + FIELD_B[name] * lengths / avg
        scaled = sp.diags(FIELD_BOOSTS[name] / norm) @ field_counts
        tfp = scaled if tfp is None else tfp + scaled
    tfp = tfp.tocsc()
    df = np.diff(tfp.indptr)
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    cols = np.repeat(np.arange(n_cols), df)
    tfp.data = (idf[cols] * tfp.data * (K1 + 1) / (K1 + tfp.data)).astype(np.float32)
    np.savez(
        path, data=tfp.data, indices=tfp.indices.astype(np.int32), indptr=tfp.indptr.astype(np.int64),
        shape=np.array(tfp.shape), idf=idf, df=df.astype(np.int32),
        vocab=np.array(counts.terms, dtype=str), pair_keys=pair_keys, pair_cols=pair_cols,
        ids=np.array(passage_ids, dtype=str), dup_of=_duplicates(counts.dupkeys),
    )


def _adjacent_pairs(tokens: TokenRows) -> tuple[np.ndarray, np.ndarray]:
    """(pair key, passage row) of every two consecutive terms inside one passage's field."""
    rows = tokens.rows
    same_row = rows[:-1] == rows[1:]
    keys = pair_key(tokens.ids[:-1], tokens.ids[1:])
    return keys[same_row], rows[:-1][same_row]


def _field_counts(tokens: TokenRows, pairs: tuple[np.ndarray, np.ndarray], pair_keys: np.ndarray,
                  pair_cols: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """Passages × columns occurrence counts of one field: its terms and its adjacent pairs."""
    keys, key_rows = pairs
    rows = np.concatenate([tokens.rows, key_rows])
    cols = np.concatenate([tokens.ids, pair_cols[np.searchsorted(pair_keys, keys)].astype(np.int64)])
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.coo_matrix((data, (rows, cols)), shape=(len(tokens.indptr) - 1, n_cols)).tocsr()
    matrix.sum_duplicates()
    return matrix


def _duplicates(dupkeys: Sequence[str]) -> np.ndarray:
    """For each passage, the row of an earlier passage with the same text, else -1."""
    first: dict[str, int] = {}
    out = np.full(len(dupkeys), -1, dtype=np.int32)
    for row, key in enumerate(dupkeys):
        if key in first:
            out[row] = first[key]
        else:
            first[key] = row
    return out


class TermMatrix:
    """The loaded weight matrix: term lookup and vectorised scoring."""

    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as npz:
            self.data = npz["data"]
            self.indices = npz["indices"]
            self.indptr = npz["indptr"]
            self.n_docs = int(npz["shape"][0])
            self.idf = npz["idf"]
            self.df = npz["df"]
            self.term_ids = {t: i for i, t in enumerate(npz["vocab"].tolist())}
            self.pair_keys = npz["pair_keys"]
            self.pair_cols = npz["pair_cols"]
            self.passage_ids = npz["ids"].tolist()
            self.dup_of = npz["dup_of"]
        self.not_duplicate = self.dup_of < 0
        self.max_idf = float(math.log(1.0 + (self.n_docs + 0.5) / 0.5))

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
