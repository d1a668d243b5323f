"""Ranking-quality metrics (bench/ranking_metrics.py) against values worked out by hand, and the
two users of them — the benchmark's MRR@10 and scripts/evaluate.py — agreeing on one example."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.mixes import Query
from bench.quality import mrr_at_10
from bench.ranking_metrics import mean, ndcg, reciprocal_rank, relevant_ranks, success_at, top_documents

ROOT = Path(__file__).resolve().parent.parent


def test_documents_stand_at_their_best_passage():
    assert top_documents(["a", "b", "a", "c", "b", "d"], k=3) == ["a", "b", "c"]


def test_ranks_count_from_one():
    assert relevant_ranks(["a", "b", "c", "d"], {"b", "d"}) == [2, 4]
    assert relevant_ranks(["a", "b"], {"z"}) == []


def test_reciprocal_rank_is_of_the_first_relevant_item():
    assert reciprocal_rank([2, 4]) == 0.5
    assert reciprocal_rank([]) == 0.0


def test_success_at_k():
    assert success_at([2, 4], 1) == 0.0 and success_at([2, 4], 2) == 1.0 and success_at([], 10) == 0.0


@pytest.mark.parametrize(
    "ranks, relevant_count, expected",
    [
        ([1], 1, 1.0),
        ([1, 2], 2, 1.0),
        # relevant at 2 and 4 of 2: (1/log2 3 + 1/log2 5) / (1 + 1/log2 3) = (0.63093 + 0.43068) / 1.63093
        ([2, 4], 2, 0.650921),
        # one of three relevant found, first: 1 / (1 + 0.63093 + 0.5)
        ([1], 3, 0.469279),
        ([], 3, 0.0),
        ([1], 0, 0.0),
        # more relevant documents than places: the ideal is ten hits
        (list(range(1, 11)), 20, 1.0),
        # a rank past k earns nothing: 1 / (1 + 0.63093)
        ([1, 11], 2, 0.613147),
    ],
)
def test_ndcg_at_10_by_hand(ranks, relevant_count, expected):
    assert ndcg(ranks, relevant_count, k=10) == pytest.approx(expected, abs=1e-6)


def test_the_mean_of_nothing_is_zero():
    assert mean([1.0, 0.5, 0.0]) == 0.5 and mean([]) == 0.0


# Two questions: the first's relevant article "b" is the third distinct article (x, a, a, b),
# the second's is never found. MRR@10 = (1/3 + 0) / 2 = 1/6.
SLUGS = {"first": ["x", "a", "a", "b"], "second": ["x", "y"]}
RELEVANT = {"first": ["b"], "second": ["z"]}


def test_the_benchmark_and_the_evaluation_script_score_alike():
    engine = SimpleNamespace(slugs=lambda q, k: SLUGS[q.text][:k])
    queries = [Query(text, relevant=frozenset(RELEVANT[text])) for text in SLUGS]
    assert mrr_at_10(engine, queries) == pytest.approx(1 / 6)

    evaluate = _load_script("evaluate")
    run = lambda text: [SimpleNamespace(article=SimpleNamespace(slug=s)) for s in SLUGS[text]]  # noqa: E731
    row = evaluate.score_documents(run, [{"query": text, "relevant": RELEVANT[text]} for text in SLUGS])
    assert row["MRR@10"] == mrr_at_10(engine, queries)
    assert row["nDCG@10"] == pytest.approx((1 / math.log2(4)) / 2)  # 0.5 for the first, 0 for the second
    assert (row["success@1"], row["success@10"]) == (0.0, 0.5)


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
