"""What the emergency check and care advice add to a search, measured side by side in one run.

    python -m bench.urgent_cost --index mq-index [--sample 400]

Each question of the faq and long mixes (the benchmark's own, same seed) is searched twice on the
same opened index — once as served, once with no rules, no care signs and no typo repair — in
random order per question, so both sides share the machine's moment. Prints each side's p50, the
median of the per-question differences (ms) and the model runs per question (issue 16's budget:
at most 0.5 ms on the faq p50, and a long message's clauses embedded in one run, not one each).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time
from pathlib import Path

from bench.mixes import Query, faq_mix, long_mix, read_jsonl
from service.index.semantic import load_encoder
from service.query.search import SearchRequest, search
from service.query.store import LoadedIndex, open_current
from service.safety.care import CareSigns
from service.safety.urgent import UrgentDetector

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "medquad"


def paired_ms(
    served: LoadedIndex, without: LoadedIndex, queries: list[Query], seed: int
) -> tuple[list[float], list[float]]:
    """Milliseconds per query on each index, the order of the two searches drawn per query."""
    rng = random.Random(seed)
    timed: dict[int, list[float]] = {id(served): [], id(without): []}
    for query in queries:
        pair = [served, without]
        rng.shuffle(pair)
        for index in pair:
            started = time.perf_counter()
            search(index, SearchRequest(q=query.text))
            timed[id(index)].append((time.perf_counter() - started) * 1000.0)
    return timed[id(served)], timed[id(without)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="a built MedQuAD index directory")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=SHARED / "dev_queries.jsonl")
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--model", default="", help="embedding model folder (default: the shipped one)")
    args = parser.parse_args(argv)
    served = open_current(args.index, load_encoder(args.model))
    without = dataclasses.replace(served, urgent=UrgentDetector([]), care=CareSigns([]), typos=None)
    runs = _count_model_runs(served)
    mixes = {
        "faq": faq_mix(read_jsonl(args.queries), args.sample, args.seed),
        "long": long_mix(read_jsonl(args.corpus), args.sample, args.seed),
    }
    for name, queries in mixes.items():
        before = runs["count"]
        with_check, without_check = paired_ms(served, without, queries, args.seed)
        per_question = (runs["count"] - before) / len(queries) / 2  # both sides run the question itself
        difference = statistics.median(a - b for a, b in zip(with_check, without_check))
        print(
            f"{name} ({len(queries)} queries): p50 {statistics.median(with_check):.2f} ms with the check, "
            f"{statistics.median(without_check):.2f} ms without; median difference {difference:+.2f} ms; "
            f"model runs per question, both sides: {per_question:.2f}"
        )


def _count_model_runs(index: LoadedIndex) -> dict:
    """Counts every run of the served model (the question's, and the batched clause runs)."""
    runs = {"count": 0}
    encoder = index.semantic.encoder
    for name in ("embed_query", "embed_questions"):
        original = getattr(encoder, name)

        def counted(*args, _original=original, **kwargs):
            runs["count"] += 1
            return _original(*args, **kwargs)

        setattr(encoder, name, counted)
    return runs


if __name__ == "__main__":
    main()
