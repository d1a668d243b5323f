"""In-process latency: every engine answers every mix, top 10, one thread, no result cache.

Wall-clock percentiles are what a caller waits; the thread's CPU time is what the engine spent,
without the waits for a core that a shared machine adds. Each round times every engine on every
mix, the engines' order rotated round by round, and the report takes the median over rounds.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence

from bench.engines import Engine
from bench.mixes import Query
from bench.stats import percentiles, rotated

K = 10
WARM_UP_QUERIES = 50

# {mix: {engine: {"rounds": [figures, ...], "median": figures}}}, figures as in `time_batch`.
Latency = dict[str, dict[str, dict]]


def time_batch(engine: Engine, queries: Sequence[Query]) -> dict[str, float]:
    """p50/p95/p99 and mean of the wall clock, p50/p99 of the thread's CPU time, in ms."""
    gc.collect()
    wall, cpu = [], []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for q in queries:
        started, cpu_started = clock(), cpu_clock()
        engine.slugs(q, K)
        cpu.append((cpu_clock() - cpu_started) / 1e6)
        wall.append((clock() - started) / 1e6)
    p50, p95, p99 = percentiles(wall, (50, 95, 99))
    cpu50, cpu99 = percentiles(cpu, (50, 99))
    return {"p50": p50, "p95": p95, "p99": p99, "mean": statistics.fmean(wall), "cpu_p50": cpu50, "cpu_p99": cpu99}


def latency_rounds(
    engines: Sequence[Engine], mixes: dict[str, list[Query]], rounds: int, log: Callable[[str], None]
) -> Latency:
    for engine in engines:  # warm caches (stems, numpy, tantivy's pages) before anything counts
        for queries in mixes.values():
            time_batch(engine, queries[:WARM_UP_QUERIES])
    raw: dict[str, dict[str, list[dict]]] = {m: {e.name: [] for e in engines} for m in mixes}
    for r in range(rounds):
        order = rotated(engines, r)
        for mix, queries in mixes.items():
            for engine in order:
                raw[mix][engine.name].append(time_batch(engine, queries))
        log(
            f"  latency round {r + 1}/{rounds}: "
            + ", ".join(f"{m} p50 " + "/".join(f"{raw[m][e.name][-1]['p50']:.2f}" for e in engines) for m in mixes)
            + " ms ("
            + "/".join(e.name for e in engines)
            + ")"
        )
    return {
        mix: {name: {"rounds": rs, "median": _median_figures(rs)} for name, rs in per.items()}
        for mix, per in raw.items()
    }


def _median_figures(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
