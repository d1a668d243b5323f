"""Quality beside the speed: MRR@10 on the faq mix, so a faster peer is seen with what it finds.

Documents are ranked by their best passage, with scripts/evaluate.py's metrics (ranking_metrics.py):
50 passages are fetched to rank 10 distinct articles.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.engines import Engine
from bench.mixes import Query
from bench.ranking_metrics import K, mean, reciprocal_rank, relevant_ranks, top_documents

PASSAGES_FETCHED = 50


def mrr_at_10(engine: Engine, queries: Sequence[Query]) -> float:
    """The mean over ``queries`` of 1 / the rank of the first relevant article among the first K."""
    reciprocal_ranks = []
    for q in queries:
        articles = top_documents(engine.slugs(q, PASSAGES_FETCHED), K)
        reciprocal_ranks.append(reciprocal_rank(relevant_ranks(articles, q.relevant)))
    return mean(reciprocal_ranks)
