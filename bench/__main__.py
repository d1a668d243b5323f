"""Speed benchmark: our search against bm25s and tantivy, in-process and over HTTP, in one run.

    pip install -e '.[bench]'
    python -m bench                      # full run (20-50 min on 2 cores, most of it embedding)
    python -m bench --quick              # smoke run (~5 min)
    python -m bench --skip-build --index mq-index --skip-http --profile
    python -m bench --out medquad        # also bench-results/medquad.{md,json}

Prints one table, every figure measured in this run:
- build: the MedQuAD corpus through the normal pipeline (`python -m service build`, a child
  process, embedding every passage): seconds (and the embedding's share), passages/s, size of
  the version directory, peak RSS; tantivy and bm25s indexing the same passages in this process
  (median of --rounds builds); then the same build again into the same index directory with one
  article changed (the vector cache re-embeds only its passages), after which the first build is
  published again so everything after it runs on the corpus as given;
- in-process latency p50/p95/p99 of four query mixes, top 10, single thread, no result cache
  (search.search is called directly): box (1-3 words of article titles, and typed-ahead word
  prefixes with prefix=True), prefix (typed-ahead ones only: what ours keeps lexical), faq
  (MedQuAD dev questions, a fixed sample), long (the first 60 words of answers); ours (hybrid,
  with the served model) against bm25s, tantivy, and bm25s with the same int8 query encoder
  embedding each question first (what a hybrid peer pays at least), over the same passages;
  median over --rounds rounds, the engines' order rotated each round;
- MRR@10 on the faq mix (documents ranked by their best passage, as scripts/evaluate.py does);
- HTTP: a real uvicorn (1 and 2 workers) on the bundled corpus and on MedQuAD, under
  `python -m bench.loadgen` (a separate process, keep-alive, closed loop) at concurrency 1, 8
  and 32 for /search (rotating through all dev questions), /healthz and /suggest when the API
  has it: requests/s, p50 and p99, and /search (or /suggest) as a share of /healthz;
- the served process tree's RSS with the MedQuAD index loaded.
Each target is printed next to its figure with PASS or FAIL.

--quick (a smoke run of a few minutes) builds a slice of the corpus instead of all of it — the
answers to its 100 faq questions and 1,000 other records, ~2,500 passages — and times 100 queries
per mix in one round and 1.5 s HTTP runs: it shows the run works end to end; its figures are not
comparable with a full run's (MRR@10 on a slice is higher: fewer wrong answers to rank).
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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import ROOT, report
from bench.build import OurBuild, build_ours, load_passages, time_peer_builds
from bench.corpora import QUICK_RECORDS, write_slice, write_with_one_article_changed
from bench.engines import Ours, make_peers
from bench.hotspots import profile_ours
from bench.http import LoadPlan, load_servers, search_rotation, write_request_files
from bench.latency import K, latency_rounds
from bench.mixes import Query, box_mix, faq_mix, long_mix, prefix_mix, read_jsonl
from bench.neighbour import busy_neighbour
from bench.quality import mrr_at_10
from bench.table import mb
from service.index.embedding import Encoder
from service.index.semantic import load_encoder
from service.index.version import VECTOR_CACHE, publish
from service.query.search import SearchRequest, search
from service.query.store import open_current
from service.settings import Settings
from service.web.threads import apply_thread_plan

MEDQUAD = ROOT.parent / "shared" / "bench" / "medquad"
RESULTS = ROOT / "bench-results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: a slice of the corpus (unless --skip-build), --sample 100 --rounds 1 --duration 1.5",
    )
    parser.add_argument("--out", help="also write NAME.md and NAME.json (bare names go to bench-results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sample, args.rounds, args.duration = min(args.sample, 100), 1, min(args.duration, 1.5)
    if args.skip_build and not args.index:
        parser.error("--skip-build needs --index DIR")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started_at, machine = datetime.now(UTC).isoformat(), machine_info()
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
    """Every figure, in an order that keeps them apart: our builds alone, then the in-process
    timings, then (with our index closed) the servers."""
    encoder = served_encoder()
    notes: list[str] = []
    corpus = args.corpus
    if args.quick and not args.skip_build:
        corpus = work / "quick-corpus.jsonl"
        faq = faq_mix(read_jsonl(args.queries), args.sample, args.seed)
        kept = write_slice(args.corpus, faq, corpus, args.seed)
        notes.append(
            f"--quick: built and searched a slice of {args.corpus}: {kept:,} records (the answers to the "
            f"{len(faq)} faq questions and {QUICK_RECORDS:,} others, seed {args.seed}); not comparable with "
            f"a full run, MRR@10 included"
        )
    mq_dir = args.index or work / "medquad-index"
    if args.skip_build:
        build = rebuild = None
        log(f"build skipped: using {mq_dir}")
    else:
        build, rebuild = measure_builds(corpus, mq_dir, args.build_procs, work, notes)
    in_process, box = measure_in_process(args, corpus, mq_dir, encoder, work, notes)
    gc.collect()  # our index is closed before the servers open theirs
    http = None if args.skip_http else measure_http(args, mq_dir, box, encoder, work, notes)
    return report.Results(
        started_at=started_at,
        machine={**machine, "load_end": os.getloadavg()},
        args=args,
        build=build,
        rebuild=rebuild,
        in_process=in_process,
        http=http,
        notes=notes,
    )


def served_encoder() -> Encoder:
    """The model the build child and the servers use (HEALTHFAQ_EMBEDDING_MODEL, else the one
    shipped): ours searches with it in-process, and the query-encoder peer embeds with it."""
    encoder = load_encoder(Settings.from_env().embedding_model)
    if encoder is None:
        raise SystemExit("no sentence-embedding model (see the warning above): the benchmark times hybrid search")
    return encoder


def measure_builds(
    corpus: Path, mq_dir: Path, procs: int | None, work: Path, notes: list[str]
) -> tuple[OurBuild, OurBuild]:
    """The cold build, then a rebuild into the same directory with one article changed; the cold
    build's version is published again afterwards, so every later figure is on ``corpus``."""
    if (mq_dir / VECTOR_CACHE).exists():
        notes.append(f"WARNING: {mq_dir} already had a vector cache: the first build reused its vectors (not cold)")
    log(f"building {corpus.name} with `service build` into {mq_dir} (embedding every passage) ...")
    build = build_ours(corpus, mq_dir, procs, work / "build.log")
    log(
        f"  ours: {build.seconds:.1f} s ({build.embedded:,} texts embedded in {build.embedding_seconds:.1f} s), "
        f"{mb(build.peak_rss_bytes)} peak"
    )
    changed_corpus = work / "corpus-one-article-changed.jsonl"
    changed = write_with_one_article_changed(corpus, changed_corpus)
    log(f"rebuilding into {mq_dir} with article {changed.record_id} changed ...")
    rebuild = build_ours(changed_corpus, mq_dir, procs, work / "rebuild.log")
    log(f"  ours: {rebuild.seconds:.1f} s ({rebuild.embedded:,} texts embedded)")
    publish(mq_dir, build.version)
    notes.append(
        f"rebuild: the same command into the same index directory on a copy of the corpus in which "
        f"article {changed.record_id} has a marker appended to each of its {changed.lines} line(s) (every "
        f"passage of that article changes); {rebuild.embedded} text(s) embedded, the rest from the "
        f"vector cache; the cold build's version {build.version} was then published again"
    )
    return build, rebuild


def measure_in_process(
    args: argparse.Namespace, corpus: Path, mq_dir: Path, encoder: Encoder, work: Path, notes: list[str]
) -> tuple[report.InProcess, list[Query]]:
    """Peers' builds, then every engine's latency and MRR@10 on the same passages and queries."""
    apply_thread_plan()  # ours runs as in the server (and the peers on the same terms)
    records = read_jsonl(corpus)
    passages, load_chunk = load_passages(corpus)
    peers = make_peers(passages, work, args.tantivy_tokenizer, encoder)
    peer_builds = time_peer_builds(peers, args.rounds, log)

    started = time.perf_counter()
    index = open_current(mq_dir, encoder)
    open_seconds = time.perf_counter() - started
    if index.passage_count != len(passages):
        notes.append(
            f"WARNING: the index has {index.passage_count} passages, the chunker now gives {len(passages)}: "
            f"peers indexed the latter (an index built from another chunker version?)"
        )
    if index.semantic is None:
        notes.append(
            f"WARNING: the index in {mq_dir} has no vectors for {encoder.model_id}: ours was timed lexical only"
        )
    ours = Ours(index)
    engines = [ours, *peers]

    mixes = {
        "box": box_mix(passages, args.sample, args.seed),
        "prefix": prefix_mix(passages, args.sample, args.seed),
        "faq": faq_mix(read_jsonl(args.queries), args.sample, args.seed),
        "long": long_mix(records, args.sample, args.seed),
    }
    log(f"latency: {args.rounds} round(s) × {', '.join(f'{len(v)} {k}' for k, v in mixes.items())} queries ...")
    latency = latency_rounds(engines, mixes, args.rounds, log)
    log("MRR@10 on the faq mix ...")
    mrr = {e.name: mrr_at_10(e, mixes["faq"]) for e in engines}
    log("faq beside one busy neighbour process ...")
    neighbour = {
        e.name: busy_neighbour(e, mixes["faq"]) for e in engines if e.name in ("ours", report.QUERY_ENCODER_PEER)
    }
    in_process = report.InProcess(
        records=len(records),
        passages=len(passages),
        load_chunk_seconds=load_chunk,
        peers=[p.name for p in peers],
        peer_builds=peer_builds,
        peer_sizes={p.name: p.size_bytes() for p in peers},
        open_seconds=open_seconds,
        mix_sizes={mix: len(queries) for mix, queries in mixes.items()},
        latency=latency,
        mrr_at_10=mrr,
        engine_config={e.name: e.config() for e in engines},
        neighbour=neighbour,
        profile=profile_ours(ours, mixes, min(200, args.sample), 14) if args.profile else "",
    )
    return in_process, mixes["box"]


def measure_http(
    args: argparse.Namespace, mq_dir: Path, box: list[Query], encoder: Encoder, work: Path, notes: list[str]
) -> dict:
    """Servers on the bundled corpus and on MedQuAD, each under the same load plan."""
    rotation = search_rotation(read_jsonl(args.queries), args.seed)
    files = write_request_files(work, rotation, box)
    log("building the bundled corpus ...")
    bundled_dir = work / "bundled-index"
    bundled_build = build_ours(args.bundled, bundled_dir, None, work / "build-bundled.log")
    answered = _share_answered(bundled_dir, encoder, rotation)
    notes.append(
        f"HTTP /search rotates through all {len(rotation)} dev questions (each client from its own "
        f"offset, continuing across runs) with the server's default settings; on the bundled corpus "
        f"({bundled_build.passages} passages) {answered:.0%} of them find a passage."
    )
    plan = LoadPlan(
        workers=[int(w) for w in args.workers.split(",")],
        concurrency=[int(c) for c in args.concurrency.split(",")],
        rounds=args.http_rounds or args.rounds,
        duration=args.duration,
    )
    http = {}
    for name, folder in (("bundled", bundled_dir), ("medquad", mq_dir)):
        log(
            f"HTTP on {name}: workers {plan.workers}, concurrency {plan.concurrency}, {plan.rounds} round(s) of "
            f"{plan.duration:g} s per run ..."
        )
        http[name] = load_servers(name, folder, files, plan, work, log)
    return http


def _share_answered(index_dir: Path, encoder: Encoder, questions: list[str]) -> float:
    """The share of the questions that find a passage in the index, searched as the server does:
    how much of the /search load on the small corpus is a real search rather than an empty answer."""
    index = open_current(index_dir, encoder)
    answered = sum(1 for q in questions if search(index, SearchRequest(q=q, limit=K)).hits)
    return answered / len(questions)


def machine_info() -> dict:
    """What the figures depend on besides the code: the commit, the machine and its load."""

    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True).stdout

    changed = [line for line in git("status", "--porcelain", "--", "service").split("\n") if line.strip()]
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "service_changes": len(changed),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_start": os.getloadavg(),
        "blas_env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))},
    }


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
