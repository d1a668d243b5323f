"""What a run measured, and the table, Markdown and JSON made from it.

The measuring modules return plain figures; this module alone decides how they are shown and
judges them against the targets, so a figure and its verdict cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from dataclasses import dataclass

from bench.build import OurBuild
from bench.latency import K, Latency
from bench.table import Table, Target, http_cell, mb, ms, times

# The targets, each printed next to its figure: ours against a peer per (mix, percentile) — the
# full question against bm25s with the same query encoder (ours embeds it too), what the box sends
# while a word is being typed (the prefix mix, lexical in ours) against bm25s; the box mix's whole
# title words are full questions to ours (hybrid) and are reported without a target —, the
# lexical part of our build against tantivy's, MRR@10 on the
# faq mix, /search's requests/s as a share of /healthz's at 8 clients on one worker, and the served
# memory with MedQuAD (vectors and model included) loaded.
QUERY_ENCODER_PEER = "bm25s+encoder"
LATENCY_OVER_PEER = {
    ("prefix", "p50"): ("bm25s", 3.0),
    ("faq", "p50"): (QUERY_ENCODER_PEER, 1.3),
    ("faq", "p99"): (QUERY_ENCODER_PEER, 2.0),
}
LONG_OVER_FAQ = 2.0  # a 60-word pasted message against our own faq question, p50
BUSY_OVER_QUIET = 2.0  # ours, faq p50 beside one busy process against alone
HTTP_OVERHEAD_OVER_PEER = 2.0  # /search p50 less /healthz p50 (MedQuAD, 1 worker, c=1) against the peer in-process
SECOND_WORKER_MB = 60.0
LEAST_EMBEDDING_RATE = 86.0  # texts/s (passages and sentences) in the MedQuAD build
BUILD_OVER_TANTIVY = 10.0
LEAST_MRR_AT_10 = 0.77
SEARCH_SHARE_OF_HEALTHZ = {"bundled": 0.50, "medquad": 0.25}
SERVED_RSS_MB = 500.0
LATENCY_FIGURES = {"p50": "p50 ms", "p95": "p95 ms", "p99": "p99 ms", "cpu_p99": "p99 ms, thread CPU time"}


@dataclass(frozen=True)
class InProcess:
    """What was measured in the benchmark's own process, on the MedQuAD passages."""

    records: int
    passages: int
    load_chunk_seconds: float
    peers: list[str]  # in the order of their columns
    peer_builds: dict[str, list[float]]  # the peers with an index of their own
    peer_sizes: dict[str, int | None]
    open_seconds: float
    mix_sizes: dict[str, int]
    latency: Latency
    mrr_at_10: dict[str, float]
    engine_config: dict[str, str]
    profile: str
    neighbour: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)  # bench/neighbour.py


@dataclass(frozen=True)
class Results:
    started_at: str
    machine: dict
    args: argparse.Namespace  # the options as run (after --quick)
    build: OurBuild | None  # cold
    rebuild: OurBuild | None  # the same index directory, one article changed
    in_process: InProcess
    http: dict | None  # {"bundled"|"medquad": bench.http.load_servers(...)}
    notes: list[str]


def make_table(results: Results) -> Table:
    peers = results.in_process.peers
    table = Table(columns=("area", "figure", "ours", *peers, "/healthz", "ratio", "target", "ok"))
    if results.build:
        _build_rows(table, results.build, results.in_process)
    if results.rebuild:
        _rebuild_rows(table, results.rebuild)
    table.add("open", "index open, seconds", ours=f"{results.in_process.open_seconds:.2f}")
    _latency_rows(table, results.in_process.latency, peers)
    _long_and_neighbour_rows(table, results.in_process)
    mrr = results.in_process.mrr_at_10
    table.add(
        "quality faq",
        "MRR@10",
        **{name: f"{value:.3f}" for name, value in mrr.items()},
        target=Target(f"≥ {LEAST_MRR_AT_10}", f"faq MRR@10 ≥ {LEAST_MRR_AT_10}", mrr["ours"] >= LEAST_MRR_AT_10),
    )
    if results.http:
        for name, per_workers in results.http.items():
            for workers, served in per_workers.items():
                _http_rows(table, name, workers, served)
        _rss_rows(table, results.http["medquad"])
        _http_overhead_row(table, results.http["medquad"], results.in_process)
    return table


def _long_and_neighbour_rows(table: Table, run: InProcess) -> None:
    faq, long = run.latency["faq"]["ours"]["median"]["p50"], run.latency["long"]["ours"]["median"]["p50"]
    table.add(
        "latency long",
        "p50 over ours faq p50",
        ours=ms(long),
        ratio=f"{times(long, faq)} ours faq",
        target=Target(
            f"≤ {LONG_OVER_FAQ:.0f}× ours faq",
            f"long p50 ≤ {LONG_OVER_FAQ:.0f}× ours faq p50",
            long <= LONG_OVER_FAQ * faq,
        ),
    )
    for name, figures in run.neighbour.items():
        target = None
        if name == "ours":
            target = Target(
                f"≤ {BUSY_OVER_QUIET:.0f}× quiet",
                f"faq p50 beside a busy process ≤ {BUSY_OVER_QUIET:.0f}× quiet",
                figures["ratio"] <= BUSY_OVER_QUIET,
            )
        table.add(
            "busy neighbour",
            f"faq p50 ms, {name}: quiet → beside a busy process",
            ours=f"{ms(figures['quiet_p50'])} → {ms(figures['busy_p50'])}",
            ratio=f"{figures['ratio']:.2f}× quiet",
            target=target,
        )


def _http_overhead_row(table: Table, medquad: dict, run: InProcess) -> None:
    """What one request over HTTP adds to the search itself: /search less /healthz, one client."""
    served = medquad.get(min(medquad))
    runs = served["endpoints"] if served else {}
    if "/search" not in runs or 1 not in runs["/search"]:
        return
    overhead = runs["/search"][1]["median"]["p50_ms"] - runs["/healthz"][1]["median"]["p50_ms"]
    peer = run.latency["faq"][QUERY_ENCODER_PEER]["median"]["p50"]
    table.add(
        "HTTP medquad",
        "/search p50 less /healthz p50, c=1",
        ours=ms(overhead),
        **{QUERY_ENCODER_PEER: ms(peer)},
        ratio=f"{times(overhead, peer)} {QUERY_ENCODER_PEER} in-process",
        target=Target(
            f"≤ {HTTP_OVERHEAD_OVER_PEER:.0f}× {QUERY_ENCODER_PEER}",
            f"HTTP /search less /healthz ≤ {HTTP_OVERHEAD_OVER_PEER:.0f}× {QUERY_ENCODER_PEER} in-process",
            overhead <= HTTP_OVERHEAD_OVER_PEER * peer,
        ),
    )


def _build_rows(table: Table, build: OurBuild, run: InProcess) -> None:
    peer_s = {name: statistics.median(s) for name, s in run.peer_builds.items()}
    tantivy, load_chunk = peer_s["tantivy"], run.load_chunk_seconds
    lexical = build.seconds - build.embedding_seconds
    limit = BUILD_OVER_TANTIVY
    table.add(
        "build",
        "seconds (ours: service build, cold)",
        ours=f"{build.seconds:.1f}",
        **{name: f"{s:.2f}" for name, s in peer_s.items()},
        ratio=f"{times(build.seconds, tantivy)} tantivy",
    )
    rate = build.embedded / build.embedding_seconds if build.embedding_seconds else 0.0
    table.add(
        "build",
        "of which embedding: seconds, texts/s",
        ours=f"{build.embedding_seconds:.1f}, {_rate(build.embedded, build.embedding_seconds)}",
        target=Target(
            f"≥ {LEAST_EMBEDDING_RATE:.0f}/s",
            f"embedding ≥ {LEAST_EMBEDDING_RATE:.0f} texts/s",
            rate >= LEAST_EMBEDDING_RATE,
        )
        if build.embedded
        else None,
    )
    table.add(
        "build",
        "seconds without embedding",
        ours=f"{lexical:.1f}",
        **{name: f"{s:.2f}" for name, s in peer_s.items()},
        ratio=f"{times(lexical, tantivy)} tantivy",
        target=Target(
            f"≤ {limit:.0f}× tantivy", f"build without embedding ≤ {limit:.0f}× tantivy", lexical <= limit * tantivy
        ),
    )
    table.add(
        "build",
        "seconds, peers + load & chunk",
        ours=f"{build.seconds:.1f}",
        **{name: f"{s + load_chunk:.2f}" for name, s in peer_s.items()},
        ratio=f"{times(build.seconds, tantivy + load_chunk)} tantivy",
    )
    table.add(
        "build",
        "passages/s",
        ours=_rate(run.passages, build.seconds),
        **{name: _rate(run.passages, s) for name, s in peer_s.items()},
    )
    table.add(
        "build",
        "index size on disk",
        ours=mb(build.size_bytes),
        **{name: mb(size) for name, size in run.peer_sizes.items() if size is not None},
    )
    table.add("build", "peak RSS (child process)", ours=mb(build.peak_rss_bytes))


def _rebuild_rows(table: Table, rebuild: OurBuild) -> None:
    table.add("rebuild", "one article changed: seconds", ours=f"{rebuild.seconds:.1f}")
    table.add(
        "rebuild",
        "passages/s; passages embedded",
        ours=f"{_rate(rebuild.passages or 0, rebuild.seconds)}; {rebuild.embedded:,}",
    )
    table.add("rebuild", "peak RSS (child process)", ours=mb(rebuild.peak_rss_bytes))


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds else "–"


def _latency_rows(table: Table, latency: Latency, peers: list[str]) -> None:
    for mix, per_engine in latency.items():
        med = {name: figures["median"] for name, figures in per_engine.items()}
        for p, figure in LATENCY_FIGURES.items():
            target = None
            if (mix, p) in LATENCY_OVER_PEER:
                peer, limit = LATENCY_OVER_PEER[(mix, p)]
                target = Target(
                    f"≤ {limit:g}× {peer}", f"{mix} {p} ≤ {limit:g}× {peer}", med["ours"][p] <= limit * med[peer][p]
                )
            table.add(
                f"latency {mix}",
                figure,
                **{name: ms(m[p]) for name, m in med.items()},
                ratio=", ".join(f"{times(med['ours'][p], med[peer][p])} {peer}" for peer in peers),
                target=target,
            )


def _http_rows(table: Table, name: str, workers: int, served: dict) -> None:
    area = f"HTTP {name} {workers}w"
    runs = served["endpoints"]
    table.add(
        area,
        "ready; first answers (cold), s",
        ours=f"ready {served['ready_s']:.1f}; " + ", ".join(f"{e} {t:.2f}" for e, t in served["cold_s"].items()),
    )
    for c in runs["/healthz"]:
        healthz = runs["/healthz"][c]
        for endpoint in (e for e in runs if e != "/healthz"):
            # Paired: each round's runs of the two endpoints were back to back.
            shares = [a["rps"] / b["rps"] for a, b in zip(runs[endpoint][c]["rounds"], healthz["rounds"]) if b["rps"]]
            share = statistics.median(shares) if shares else 0.0
            target = None
            if endpoint == "/search" and c == 8:
                least = SEARCH_SHARE_OF_HEALTHZ[name]
                target = Target(
                    f"≥ {least:.0%} of /healthz",
                    f"HTTP {name} w={workers} c=8 /search ≥ {least:.0%} of /healthz",
                    share >= least,
                )
            table.add(
                area,
                f"{endpoint} c={c}",
                ours=http_cell(runs[endpoint][c]["median"]),
                **{"/healthz": http_cell(healthz["median"])},
                ratio=f"{share:.0%} of /healthz",
                target=target,
            )


def _rss_rows(table: Table, medquad: dict) -> None:
    for workers, served in medquad.items():
        rss = served["rss"]
        target = None
        if workers == min(medquad):
            target = Target(
                f"< {SERVED_RSS_MB:.0f} MB",
                f"served RSS ({workers} worker) < {SERVED_RSS_MB:.0f} MB",
                rss["total_bytes"] < SERVED_RSS_MB * 2**20,
            )
        detail = " + ".join(mb(s) for s in rss["processes"])
        table.add(
            "served RSS",
            f"MedQuAD, {workers} worker(s), after load",
            ours=f"{mb(rss['total_bytes'])} ({detail})",
            target=target,
        )
    if len(medquad) > 1:
        one, more = min(medquad), max(medquad)
        added = (medquad[more]["rss"]["pss_bytes"] - medquad[one]["rss"]["pss_bytes"]) / (more - one)
        table.add(
            "served RSS",
            "each worker after the first adds (PSS: shared pages once)",
            ours=mb(added),
            target=Target(
                f"≤ {SECOND_WORKER_MB:.0f} MB",
                f"a second worker adds ≤ {SECOND_WORKER_MB:.0f} MB",
                added <= SECOND_WORKER_MB * 2**20,
            ),
        )


def markdown(results: Results, table: Table) -> str:
    """The report as printed: how the run was set up, the table, then how to read it."""
    args, m, run = results.args, results.machine, results.in_process
    failed = [name for name, met in table.verdicts if not met]
    lines = [
        f"## healthfaq benchmark — {results.started_at[:19]}Z, commit {m['commit']}"
        + (f" + {m['service_changes']} uncommitted file(s) in service/" if m["service_changes"] else ""),
        f"python {m['python']}, {m['cpus']} cpus, load average {m['load_start'][0]:.2f} at start, "
        f"{m['load_end'][0]:.2f} at end; BLAS env: {m['blas_env'] or 'none set'} (left as found)",
        f"corpus {args.corpus} ({run.records:,} records → {run.passages:,} passages; load + chunk "
        f"{run.load_chunk_seconds:.1f} s); queries {args.queries}; "
        f"{', '.join(f'{n} {mix}' for mix, n in run.mix_sizes.items())} queries, seed {args.seed}; "
        f"latency = median of {args.rounds} round(s), engines' order rotated each round; top {K}, one thread",
        "",
        table.render(),
        "",
        "HTTP cells: requests/s · p50 ms · p99 ms (median of rounds); ratio = median over rounds of that endpoint's "
        "requests/s over /healthz's in the same round (run back to back), same concurrency, same server. "
        "Latency rows: wall clock, except the CPU-time row (the thread's own CPU time, immune to waiting for a "
        "core); ratio = ours over the peer.",
    ]
    lines += [f"{name}: {config}" for name, config in run.engine_config.items()]
    if results.build:
        lines.append(_build_line(results.build, args.rounds))
    lines += results.notes
    lines.append(
        f"targets: {len(table.verdicts) - len(failed)}/{len(table.verdicts)} met"
        + (f"; not met: {'; '.join(failed)}" if failed else "")
    )
    if run.profile:
        lines += ["", run.profile.rstrip()]
    return "\n".join(lines)


def _build_line(build: OurBuild, rounds: int) -> str:
    return (
        f"build: `{build.command}` ({build.seconds:.1f} s as the build reports it, {build.wall_seconds:.1f} s "
        f"wall with interpreter start; the embedding's seconds = passages / rate of its last progress line, "
        f"the lexical part = the rest); peers index the passages already loaded and chunked in the benchmark "
        f"process (median of {rounds}); the fourth build row adds that load + chunk time to the peers"
    )


def as_json(results: Results, table: Table) -> dict:
    """Every figure with its rounds, for comparing runs later."""
    run = results.in_process
    return {
        "started_at": results.started_at,
        "args": {k: str(v) for k, v in vars(results.args).items()},
        "machine": results.machine,
        "build": dataclasses.asdict(results.build) if results.build else None,
        "rebuild": dataclasses.asdict(results.rebuild) if results.rebuild else None,
        "load_chunk_seconds": run.load_chunk_seconds,
        "peer_builds": run.peer_builds,
        "latency": run.latency,
        "mrr_at_10": run.mrr_at_10,
        "engine_config": run.engine_config,
        "http": results.http,
        "table": table.rows,
        "targets": dict(table.verdicts),
    }
