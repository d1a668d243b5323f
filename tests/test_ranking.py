"""BM25F weights derived from the Whoosh index: checked against the served matrix and by hand."""
from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from service.index import schema as S
from service.build.indexer import build_index
from service.build.weights import FIELD_B, K1, derive_matrix
from service.index.matrix import MatrixArrays, TermMatrix
from service.query.store import open_current
from service.index.version import MATRIX, current_version, version_path

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


def test_the_served_matrix_is_the_one_derived_from_whoosh_alone(bundled_index_dir):
    folder = version_path(bundled_index_dir, current_version(bundled_index_dir))
    served, derived = MatrixArrays.load(folder / MATRIX), derive_matrix(folder)
    assert served.vocab == derived.vocab and served.n_docs == derived.n_docs
    for name in ("data", "indices", "indptr", "idf", "pair_keys", "pair_cols"):
        assert np.array_equal(getattr(served, name), getattr(derived, name)), name
    assert len(served.pair_keys) > 100 and len(served.data) > 1000


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
    assert matrix.pair_column("knee", "run") is None     # "pain" stands between them


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
