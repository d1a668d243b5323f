"""BM25F weights of the served matrix: checked against BM25F computed in plain Python from
Whoosh's postings, and on a tiny corpus by hand from the texts."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from whoosh import index as whoosh_index

from service.build.indexer import build_index
from service.build.weights import FIELD_B, K1
from service.index import schema as S
from service.index.matrix import MatrixArrays, TermMatrix
from service.index.version import MATRIX, current_version, version_path
from service.query.store import open_current

RECORDS = [
    {"id": "knee", "title": "Knee pain", "text": "Knee pain after running. Rest the knee and ice it."},
    {"id": "back", "title": "Back pain", "text": "Lower back pain is common. Pain in the lower back often eases."},
    {"id": "spine", "title": "Spinal cord", "text": "The spinal cord carries signals. A cord injury needs care."},
    {"id": "spine-copy", "title": "Spinal cord", "text": "The spinal cord carries signals. A cord injury needs care!"},
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranking")
    corpus = root / "tiny.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    build_index(corpus, root / "index")
    return root / "index"


Column = tuple[str, ...]  # a stem, or the two stems of an adjacent pair


def _whoosh_tokens(reader, field: str) -> dict[int, list[str]]:
    """Each document's stems in ``field`` in position order, read through Whoosh's own posting
    matchers (not the bulk reader the build uses)."""
    placed: dict[int, list[tuple[int, str]]] = {}
    for term in reader.lexicon(field):
        stem = term.decode("utf-8") if isinstance(term, bytes) else term
        for docnum, positions in reader.postings(field, term).items_as("positions"):
            placed.setdefault(docnum, []).extend((position, stem) for position in positions)
    return {docnum: [stem for _, stem in sorted(tokens)] for docnum, tokens in placed.items()}


def _field_counts(stems: list[str]) -> Counter:
    """A field's stems and its adjacent stem pairs, counted: the columns it contributes to."""
    return Counter((stem,) for stem in stems) + Counter(zip(stems, stems[1:]))


def _bm25f_from_whoosh(folder) -> tuple[dict[tuple[int, Column], float], list[str]]:
    """Every (document, column) weight by the formula in service/build/weights.py, in plain
    Python: per field, counts over 1 - b + b * length / average length (a field's length is its
    stems plus its pairs), boosted and summed; then idf * tf * (k1 + 1) / (k1 + tf) with
    idf = log(1 + (N - df + 0.5) / (df + 0.5)). Also each document's stored passage id."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.reader() as reader:
            n_docs = reader.doc_count_all()
            ids = [reader.stored_fields(docnum)[S.ID_FIELD] for docnum in range(n_docs)]
            counts = {
                field: {doc: _field_counts(stems) for doc, stems in _whoosh_tokens(reader, field).items()}
                for field in S.RANKED_FIELDS
            }
    finally:
        ix.close()
    tf: dict[tuple[int, Column], float] = {}
    for field, by_doc in counts.items():
        lengths = {doc: sum(c.values()) for doc, c in by_doc.items()}
        average = sum(lengths.values()) / n_docs
        for doc, column_counts in by_doc.items():
            norm = 1 - FIELD_B[field] + FIELD_B[field] * lengths[doc] / average
            for column, count in column_counts.items():
                tf[doc, column] = tf.get((doc, column), 0.0) + S.FIELD_BOOSTS[field] * count / norm
    df = Counter(column for _, column in tf)
    idf = {column: math.log(1 + (n_docs - n + 0.5) / (n + 0.5)) for column, n in df.items()}
    return {(doc, column): idf[column] * t * (K1 + 1) / (K1 + t) for (doc, column), t in tf.items()}, ids


def _served_weights(matrix: TermMatrix, vocab: list[str]) -> dict[tuple[int, Column], float]:
    """Every stored (document, column) weight of the served matrix, columns named by their stems."""
    names: dict[int, Column] = {col: (stem,) for stem, col in matrix.term_ids.items()}
    for key, col in zip(matrix.pair_keys.tolist(), matrix.pair_cols.tolist()):
        names[col] = (vocab[key >> 32], vocab[key & 0xFFFFFFFF])
    weights = {}
    for col, name in names.items():
        rows, values = matrix.rows_of(col)
        weights.update(((int(row), name), float(value)) for row, value in zip(rows, values))
    return weights


def test_the_served_matrix_is_bm25f_computed_from_the_whoosh_postings(bundled_index_dir):
    """Checked against an independent computation (Whoosh's matchers and plain Python), never
    against derive_matrix itself, whose output the build saved: every stem and adjacent-pair
    column of every passage of the test corpus, title, section and text fields together."""
    folder = version_path(bundled_index_dir, current_version(bundled_index_dir))
    expected, ids = _bm25f_from_whoosh(folder)
    index = open_current(bundled_index_dir)
    served = _served_weights(index.matrix, MatrixArrays.load(folder / MATRIX).vocab)
    assert [p.id for p in index.passages] == ids  # matrix rows are the served passages, in order
    assert served.keys() == expected.keys()  # the same columns, stems and pairs, in the same passages
    assert sum(len(column) == 2 for _, column in served) > 1000 and len({c for _, c in served}) > 1000
    differing = {
        cell: (served[cell], expected[cell])
        for cell in expected
        if not math.isclose(served[cell], expected[cell], rel_tol=1e-5, abs_tol=1e-6)
    }
    assert differing == {}


def _by_hand(records, stem_or_pair):
    """BM25F of one column for every record, computed from the texts (one passage each)."""
    fields = []
    for r in records:
        title, text = S.analyze(r["title"]), S.analyze(r["text"])
        fields.append({S.TITLE: title, S.TEXT_FIELD: text})  # no section headings in JSONL records

    def counts(stems):
        return Counter(stems) + Counter(f"{a} {b}" for a, b in zip(stems, stems[1:]))

    lengths = {name: [2 * len(f[name]) - 1 if f[name] else 0 for f in fields] for name in (S.TITLE, S.TEXT_FIELD)}
    tfp = []
    for i, f in enumerate(fields):
        total = 0.0
        for name in (S.TITLE, S.TEXT_FIELD):
            avg = sum(lengths[name]) / len(fields)
            norm = 1 - FIELD_B[name] + FIELD_B[name] * lengths[name][i] / avg
            total += S.FIELD_BOOSTS[name] * counts(f[name])[stem_or_pair] / norm
        tfp.append(total)
    df = sum(1 for t in tfp if t > 0)
    idf = math.log(1 + (len(records) - df + 0.5) / (df + 0.5))
    return [idf * t * (K1 + 1) / (K1 + t) if t else 0.0 for t in tfp]


@pytest.mark.parametrize("column", ["pain", "knee", "cord", "spinal cord", "lower back"])
def test_weights_are_bm25f_over_title_and_text_with_adjacent_pairs(tiny, column):
    index = open_current(tiny)
    matrix = index.matrix
    col = matrix.pair_column(*column.split()) if " " in column else matrix.column(column)
    assert col is not None
    got = matrix.score([col], [1.0])
    assert np.allclose(got, _by_hand(RECORDS, column), rtol=1e-5, atol=1e-6)


def test_pairs_are_adjacent_stems_only(tiny):
    matrix = open_current(tiny).matrix
    assert matrix.pair_column("spinal", "cord") is not None
    assert matrix.pair_column("cord", "spinal") is None  # order matters
    assert matrix.pair_column("knee", "run") is None  # "pain" stands between them


def test_a_passage_repeating_another_collapses_to_the_first(tiny):
    index = open_current(tiny)
    assert index.not_duplicate.tolist() == [True, True, True, False]
    from service.query.search import SearchRequest, search

    hits = search(index, SearchRequest(q="spinal cord injury")).hits
    assert [h.passage.article.slug for h in hits] == ["spine"]


def test_score_and_coverage_sum_the_asked_columns(tiny):
    matrix: TermMatrix = open_current(tiny).matrix
    pain, knee = matrix.column("pain"), matrix.column("knee")
    both = matrix.score([pain, knee], [1.0, 0.5])
    assert np.allclose(both, matrix.score([pain], [1.0]) + 0.5 * matrix.score([knee], [1.0]))
    covered = matrix.coverage([([pain], 2.0), ([knee, matrix.column("back")], 1.0)])
    assert covered.tolist() == [3.0, 3.0, 0.0, 0.0]
