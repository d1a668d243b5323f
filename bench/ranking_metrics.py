"""Ranking quality, defined once: the benchmark's MRR@10 (bench/quality.py) and the evaluation
script's MRR@10, nDCG@10 and success@k (scripts/evaluate.py) are computed here, so a figure in
the benchmark table and one from the script mean the same thing.

A ranking is judged by ``ranks``: the 1-based positions, in order, at which relevant items stand
in the first K of it. Documents are ranked by their best passage (``top_documents``). Imports
nothing beyond the standard library, so the script can use it without the benchmark's peers.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Sequence

K = 10


def top_documents(documents: Iterable[str], k: int = K) -> list[str]:
    """The first ``k`` distinct documents of a passage ranking: each stands at its best passage."""
    return list(dict.fromkeys(documents))[:k]


def relevant_ranks(ranked: Sequence[str], relevant: Container[str]) -> list[int]:
    """The 1-based ranks of the relevant items of ``ranked``, best first."""
    return [rank for rank, item in enumerate(ranked, start=1) if item in relevant]


def reciprocal_rank(ranks: Sequence[int]) -> float:
    """1 / the rank of the first relevant item; 0 when none is ranked."""
    return 1 / ranks[0] if ranks else 0.0


def success_at(ranks: Sequence[int], k: int) -> float:
    """1 when a relevant item is ranked within the first ``k``, else 0."""
    return 1.0 if ranks and ranks[0] <= k else 0.0


def ndcg(ranks: Sequence[int], relevant_count: int, k: int = K) -> float:
    """Binary-gain nDCG@k: the discounted gain of ``ranks`` over that of the best possible
    ranking, the relevant items (at most ``k`` of them) in the first places; 0 when none exist."""
    gain = sum(1 / math.log2(rank + 1) for rank in ranks if rank <= k)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(relevant_count, k) + 1))
    return gain / ideal if ideal else 0.0


def mean(values: Sequence[float]) -> float:
    """The average over questions; 0 when there are none."""
    return sum(values) / len(values) if values else 0.0
