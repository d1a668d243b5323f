"""The BM25F weight matrix of a version, derived once at build time from the Whoosh postings.

Whoosh is the index of record and the only source of the statistics: term frequencies per field,
field lengths, document frequencies, and positions, which say which stems stand side by side
(the phrase bonus). ``derive_matrix`` reads every posting back once (postings.py) and turns it
into each (passage, column) BM25F weight, saved as ``service.index.matrix.MatrixArrays``.
Columns are the stems, then every adjacent pair of stems found in some passage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index

from service.build.postings import FieldPostings, read_fields
from service.index.matrix import MatrixArrays, pair_key
from service.index.schema import FIELD_BOOSTS, RANKED_FIELDS, SECTION, TEXT_FIELD, TITLE

K1 = 1.2
# Length normalisation per field: titles are short and repeated, so barely normalised.
FIELD_B = {TITLE: 0.3, SECTION: 0.4, TEXT_FIELD: 0.75}


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
    pair_columns = np.split(len(vocab) + pair_ids, np.cumsum([len(pairs[name][0]) for name in RANKED_FIELDS])[:-1])
    n_cols = len(vocab) + len(pair_keys)
    # Every field's (passage, column) counts scaled by its boost over its normalised length, then
    # summed over the fields in field order: one weight per distinct (column, passage), in
    # column-then-passage order, which is the compressed-column layout the matrix is saved in.
    keys, scaled = [], []
    for name, pair_cols in zip(RANKED_FIELDS, pair_columns):
        sequence, starts = stems[name]
        docs = np.concatenate([np.repeat(np.arange(n_docs), np.diff(starts)), pairs[name][1]])
        cols = np.concatenate([sequence, pair_cols])
        lengths = np.bincount(docs, minlength=n_docs).astype(np.float64)
        avg = lengths.mean() or 1.0
        norm = 1.0 - FIELD_B[name] + FIELD_B[name] * lengths / avg
        cells, counts = np.unique(cols * n_docs + docs, return_counts=True)
        keys.append(cells)
        scaled.append(counts * (FIELD_BOOSTS[name] / norm)[cells % n_docs])
    cells, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    tfp = np.bincount(inverse, weights=np.concatenate(scaled))
    rows, columns = cells % n_docs, cells // n_docs
    indptr = np.concatenate([[0], np.cumsum(np.bincount(columns, minlength=n_cols))])
    df = np.diff(indptr)
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    data = (np.repeat(idf, df) * tfp * (K1 + 1) / (K1 + tfp)).astype(np.float32)
    return MatrixArrays(
        data=data,
        indices=rows.astype(np.int32),
        indptr=indptr.astype(np.int64),
        n_docs=n_docs,
        idf=idf,
        vocab=vocab,
        pair_keys=pair_keys.astype(np.int64),
        pair_cols=(len(vocab) + np.arange(len(pair_keys))).astype(np.int32),
    )


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
