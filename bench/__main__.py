"""Speed benchmark: our search against bm25s and tantivy, in-process and over HTTP, in one run.

    pip install -e '.[bench]'
    python -m bench                      # full run (~15 min on 2 cores)
    python -m bench --quick              # smoke run (~3 min)
    python -m bench --skip-build --index mq-index --skip-http --profile
    python -m bench --out medquad        # also bench-results/medquad.{md,json}

Prints one table, every figure measured in this run:
- build: the MedQuAD corpus through the normal pipeline (`python -m service build`, a child
  process): seconds, passages/s, size of the version directory, peak RSS; tantivy and bm25s
  indexing the same passages in this process (median of --rounds builds);
- in-process latency p50/p95/p99 of three query mixes, top 10, single thread, no result cache
  (search.search is called directly): box (1-3 words of article titles, and typed-ahead word
  prefixes with prefix=True), faq (MedQuAD dev questions, a fixed sample), long (the first 60
  words of answers); ours against bm25s and tantivy over the same passages; median over
  --rounds rounds, the engines' order rotated each round;
- MRR@10 on the faq mix (documents ranked by their best passage, as scripts/evaluate.py does);
- HTTP: a real uvicorn (1 and 2 workers) on the bundled corpus and on MedQuAD, under
  `python -m bench.loadgen` (a separate process, keep-alive, closed loop) at concurrency 1, 8
  and 32 for /search (rotating through all dev questions), /healthz and /suggest when the API
  has it: requests/s, p50 and p99, and /search (or /suggest) as a share of /healthz;
- the served process tree's RSS with the MedQuAD index loaded.
Each target is printed next to its figure with PASS or FAIL.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from bench import ROOT, report
from bench.build import build_ours, load_passages, time_peer_builds
from bench.engines import Ours, make_peers
from bench.hotspots import profile_ours
from bench.http import LoadPlan, load_servers, search_rotation, write_request_files
from bench.latency import K, latency_rounds
from bench.mixes import Query, box_mix, faq_mix, long_mix, read_jsonl
from bench.quality import mrr_at_10
from bench.table import mb
from service.search import SearchRequest, search
from service.store import open_current

MEDQUAD = ROOT.parent / "shared" / "bench" / "medquad"
RESULTS = ROOT / "bench-results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=MEDQUAD / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=MEDQUAD / "dev_queries.jsonl")
    parser.add_argument("--bundled", type=Path, default=ROOT / "corpus", help="the small corpus served over HTTP too")
    parser.add_argument("--index", type=Path, help="MedQuAD index directory (default: a temp dir)")
    parser.add_argument("--skip-build", action="store_true", help="reuse the index in --index instead of building")
    parser.add_argument("--build-procs", type=int, help="pass --procs to `service build` (default: its own)")
    parser.add_argument("--sample", type=int, default=1000, help="queries per mix (faq: same sample as evaluate.py)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http-rounds", type=int, help="rounds of HTTP runs (default --rounds)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per HTTP run")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--tantivy-tokenizer", default="en_stem", choices=["en_stem", "en_stem_stop"])
    parser.add_argument("--profile", action="store_true", help="also cProfile ours on 200 queries of each mix")
    parser.add_argument("--quick", action="store_true", help="smoke run: --sample 100 --rounds 1 --duration 1.5")
    parser.add_argument("--out", help="also write NAME.md and NAME.json (bare names go to bench-results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sample, args.rounds, args.duration = min(args.sample, 100), 1, min(args.duration, 1.5)
    if args.skip_build and not args.index:
        parser.error("--skip-build needs --index DIR")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started_at, machine = datetime.now(timezone.utc).isoformat(), machine_info()
    work = Path(tempfile.mkdtemp(prefix="healthfaq-bench-"))
    try:
        results = measure(args, started_at, machine, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = report.make_table(results)
    text = report.markdown(results, table)
    print(text)
    if args.out:
        write_outputs(args.out, text, report.as_json(results, table))
    return 0


def measure(args: argparse.Namespace, started_at: str, machine: dict, work: Path) -> report.Results:
    """Every figure, in an order that keeps them apart: our build alone, then the in-process
    timings, then (with our index closed) the servers."""
    mq_dir = args.index or work / "medquad-index"
    if args.skip_build:
        build = None
        log(f"build skipped: using {mq_dir}")
    else:
        log(f"building MedQuAD with `service build` into {mq_dir} ...")
        build = build_ours(args.corpus, mq_dir, args.build_procs, work / "build.log")
        log(f"  ours: {build.seconds:.1f} s, {mb(build.peak_rss_bytes)} peak")
    notes: list[str] = []
    in_process, box = measure_in_process(args, mq_dir, work, notes)
    gc.collect()  # our index is closed before the servers open theirs
    http = None if args.skip_http else measure_http(args, mq_dir, box, work, notes)
    return report.Results(started_at=started_at, machine={**machine, "load_end": os.getloadavg()}, args=args, build=build, in_process=in_process,
                          http=http, notes=notes)


def measure_in_process(args: argparse.Namespace, mq_dir: Path, work: Path,
                       notes: list[str]) -> tuple[report.InProcess, list[Query]]:
    """Peers' builds, then every engine's latency and MRR@10 on the same passages and queries."""
    records = read_jsonl(args.corpus)
    passages, load_chunk = load_passages(args.corpus)
    peers = make_peers(passages, work, args.tantivy_tokenizer)
    peer_builds = time_peer_builds(peers, args.rounds, log)

    started = time.perf_counter()
    index = open_current(mq_dir)
    open_seconds = time.perf_counter() - started
    if index.passage_count != len(passages):
        notes.append(f"WARNING: the index has {index.passage_count} passages, the chunker now gives {len(passages)}: "
                     f"peers indexed the latter (an index built from another chunker version?)")
    ours = Ours(index)
    engines = [ours, *peers]

    mixes = {"box": box_mix(passages, args.sample, args.seed), "faq": faq_mix(read_jsonl(args.queries), args.sample, args.seed),
             "long": long_mix(records, args.sample, args.seed)}
    log(f"latency: {args.rounds} round(s) × {', '.join(f'{len(v)} {k}' for k, v in mixes.items())} queries ...")
    latency = latency_rounds(engines, mixes, args.rounds, log)
    log("MRR@10 on the faq mix ...")
    mrr = {e.name: mrr_at_10(e, mixes["faq"]) for e in engines}
    in_process = report.InProcess(
        records=len(records), passages=len(passages), load_chunk_seconds=load_chunk, peer_builds=peer_builds,
        peer_sizes={p.name: p.size_bytes() for p in peers}, open_seconds=open_seconds,
        mix_sizes={mix: len(queries) for mix, queries in mixes.items()}, latency=latency, mrr_at_10=mrr,
        engine_config={e.name: e.config() for e in engines},
        profile=profile_ours(ours, mixes, min(200, args.sample), 14) if args.profile else "")
    return in_process, mixes["box"]


def measure_http(args: argparse.Namespace, mq_dir: Path, box: list[Query], work: Path, notes: list[str]) -> dict:
    """Servers on the bundled corpus and on MedQuAD, each under the same load plan."""
    rotation = search_rotation(read_jsonl(args.queries), args.seed)
    files = write_request_files(work, rotation, box)
    log("building the bundled corpus ...")
    bundled_dir = work / "bundled-index"
    bundled_build = build_ours(args.bundled, bundled_dir, None, work / "build-bundled.log")
    answered = _share_answered(bundled_dir, rotation)
    notes.append(f"HTTP /search rotates through all {len(rotation)} dev questions (each client from its own "
                 f"offset, continuing across runs) with the server's default settings; on the bundled corpus "
                 f"({bundled_build.passages} passages) {answered:.0%} of them find a passage.")
    plan = LoadPlan(workers=[int(w) for w in args.workers.split(",")],
                    concurrency=[int(c) for c in args.concurrency.split(",")],
                    rounds=args.http_rounds or args.rounds, duration=args.duration)
    http = {}
    for name, folder in (("bundled", bundled_dir), ("medquad", mq_dir)):
        log(f"HTTP on {name}: workers {plan.workers}, concurrency {plan.concurrency}, {plan.rounds} round(s) of "
            f"{plan.duration:g} s per run ...")
        http[name] = load_servers(name, folder, files, plan, work, log)
    return http


def _share_answered(index_dir: Path, questions: list[str]) -> float:
    """The share of the questions that find a passage in the index: how much of the /search load
    on the small corpus is a real search rather than an empty answer."""
    index = open_current(index_dir)
    answered = sum(1 for q in questions if search(index, SearchRequest(q=q, limit=K)).hits)
    return answered / len(questions)


def machine_info() -> dict:
    """What the figures depend on besides the code: the commit, the machine and its load."""
    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True).stdout
    changed = [line for line in git("status", "--porcelain", "--", "service").split("\n") if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "service_changes": len(changed),
            "python": platform.python_version(), "cpus": os.cpu_count(), "load_start": os.getloadavg(),
            "blas_env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}}


def write_outputs(out: str, text: str, data: dict) -> None:
    """NAME.md and NAME.json (a bare NAME goes to bench-results/)."""
    base = Path(out) if os.sep in out else RESULTS / out
    base = base.with_suffix("") if base.suffix in (".md", ".json") else base
    base.parent.mkdir(parents=True, exist_ok=True)
    base.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    base.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    log(f"wrote {base.with_suffix('.md')} and {base.with_suffix('.json')}")


if __name__ == "__main__":
    sys.exit(main())

