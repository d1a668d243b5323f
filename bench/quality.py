"""Quality beside the speed: MRR@10 on the faq mix, so a faster peer is seen with what it finds.

Documents are ranked by their best passage, as scripts/evaluate.py does: 50 passages are fetched
to rank 10 distinct articles.
"""
from __future__ import annotations

from typing import Sequence

from bench.engines import Engine
from bench.mixes import Query

K = 10
PASSAGES_FETCHED = 50


def mrr_at_10(engine: Engine, queries: Sequence[Query]) -> float:
    total = 0.0
    for q in queries:
        docs = list(dict.fromkeys(engine.slugs(q, PASSAGES_FETCHED)))[:K]
        rank = next((i for i, d in enumerate(docs, start=1) if d in q.relevant), None)
        total += 1.0 / rank if rank else 0.0
    return total / max(1, len(queries))
