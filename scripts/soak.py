"""Soak: a bounded mixed load on loopback, with reindexes and a killed build during it.

    .venv/bin/python scripts/soak.py --duration 120            # the documented run
    .venv/bin/python scripts/soak.py --duration 15 --json      # what tests/test_soak.py runs

What it does, all on 127.0.0.1 and all bounded in time and request count:

1. writes a synthetic JSONL corpus (``--records`` articles built from the bundled corpus's words)
   into a temporary directory and builds an index from it;
2. starts a real server (`python -m service serve`, ``--workers`` uvicorn workers);
3. runs ``--concurrency`` clients (default 32) for ``--duration`` seconds, each sending a mix
   of GET /search (60%), GET /suggest (20%, when the server has it) and article pages (20%);
4. meanwhile rebuilds the index every ``--reindex-every`` seconds with `healthfaq build`, and
   once, half-way, starts a build of a larger corpus and SIGKILLs it as soon as its draft
   directory appears (the next rebuild must still work: the kernel drops the dead build's lock);
5. prints requests, answers by status, connection errors, p50/p99 latency, the server's RSS
   after a warm-up (``--warmup`` seconds of load with one rebuild, so warm caches and the
   one-time peak of two versions alive during a swap are in the baseline) and at the end, and
   the builds done. The server runs with MALLOC_ARENA_MAX=2 unless the environment sets it.

Exit status 1 when any answer was a 5xx, any connection failed, RSS grew by 10% or more, a
rebuild failed, or the server did not end on the newest version; else 0. Latencies are printed,
never judged: speed goals belong to the benchmark (`python -m bench`), not to a pass/fail soak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ROOT  # noqa: E402
from bench.memory import tree_rss  # noqa: E402
from bench.server import start_server, stop_server  # noqa: E402
from bench.stats import percentiles  # noqa: E402

MAX_RSS_GROWTH = 0.10
QUESTIONS = [
    "sharp pain in belly button",
    "lost my sense of smell after covid",
    "how do kegel exercises work",
    "semen leakage causes",
    "when should I see a doctor",
    "pain after eating",
    "is it serious",
    "how long does it last",
    "treatment options",
    "what causes swelling",
]


def write_corpus(path: Path, records: int, seed: int) -> list[str]:
    """A JSONL corpus of ``records`` articles; returns the words it uses (for questions)."""
    text = " ".join(p.read_text(encoding="utf-8").lower() for p in sorted((ROOT / "corpus" / "articles").glob("*.md")))
    vocabulary = sorted(set(re.findall(r"[a-z]{3,}", text)))
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(records):
            sentences = [
                " ".join(rng.choices(vocabulary, k=rng.randint(8, 20))).capitalize() + "."
                for _ in range(rng.randint(10, 25))
            ]
            title = " ".join(rng.choices(vocabulary, k=4)).title()
            handle.write(json.dumps({"id": f"soak-{n}", "title": title, "text": " ".join(sentences)}) + "\n")
    return vocabulary


def build_command(corpus: Path, index_dir: Path) -> list[str]:
    return [sys.executable, "-m", "service", "build", "--corpus", str(corpus), "--index", str(index_dir)]


def steady_rss(pid: int, load) -> int:
    """Median RSS sampled every 0.1 s while ``load()`` runs: one reading can land on a spike."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(sum(tree_rss(pid)))
            done.wait(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        load()
    finally:
        done.set()
        sampler.join()
    return int(statistics.median(samples))


class Builds:
    """Rebuilds on a timer, plus one build killed half-way; runs in a thread beside the load."""

    def __init__(self, corpus: Path, big_corpus: Path, index_dir: Path, every: float, kill_at: float) -> None:
        self.corpus, self.big_corpus, self.index_dir = corpus, big_corpus, index_dir
        self.every, self.kill_at = every, kill_at
        self.done = 0
        self.failed: list[str] = []
        self.killed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        next_build = started + self.every
        while not self.stop.wait(0.05):
            now = time.monotonic()
            if not self.killed and now - started >= self.kill_at:
                self._kill_one()
            elif now >= next_build:
                result = subprocess.run(
                    build_command(self.corpus, self.index_dir), capture_output=True, text=True, cwd=ROOT, timeout=600
                )
                if result.returncode == 0:
                    self.done += 1
                else:
                    self.failed.append(result.stderr.strip()[-500:])
                next_build = time.monotonic() + self.every

    def _kill_one(self) -> None:
        process = subprocess.Popen(
            build_command(self.big_corpus, self.index_dir),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if list((self.index_dir / "versions").glob(".draft-*")):
                break
            time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.killed = 1
        else:
            self.failed.append("the build meant to be killed finished first; use a larger --records")
        process.wait()


async def run_load(
    url: str,
    seconds: float,
    concurrency: int,
    max_requests: int,
    slugs: list[str],
    vocabulary: list[str],
    with_suggest: bool,
    seed: int,
) -> tuple[Counter, Counter, list[float]]:
    statuses: Counter = Counter()  # (kind, status) -> count
    connection_errors: Counter = Counter()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    sent = 0
    # A pooled client must drop an idle connection before the server does (HEALTHFAQ_KEEP_ALIVE_TIMEOUT,
    # 5 s): at equal timeouts (httpx's default is also 5 s) a request can cross the server's close.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2.0)

    async def client_loop(n: int, client: httpx.AsyncClient) -> None:
        nonlocal sent
        rng = random.Random(seed * 1000 + n)
        while time.monotonic() < deadline and sent < max_requests:
            sent += 1
            roll = rng.random()
            if roll < 0.6:
                kind, path = "search", "/search"
                q = (
                    rng.choice(QUESTIONS)
                    if rng.random() < 0.3
                    else " ".join(rng.choices(vocabulary, k=rng.randint(1, 6)))
                )
                params = {"q": q, "limit": str(rng.choice((5, 10, 20)))}
            elif roll < 0.8 and with_suggest:
                kind, path = "suggest", "/suggest"
                word = rng.choice(vocabulary)
                params = {"q": word[: rng.randint(2, len(word))]}
            else:
                kind, path, params = "page", f"/articles/{rng.choice(slugs)}", {}
            started = time.perf_counter()
            try:
                response = await client.get(path, params=params)
                statuses[(kind, response.status_code)] += 1
                latencies.append(time.perf_counter() - started)
            except httpx.TransportError as exc:
                connection_errors[type(exc).__name__] += 1

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        await asyncio.gather(*(client_loop(n, client) for n in range(concurrency)))
    return statuses, connection_errors, latencies


def wait_for_version(url: str, version: str, timeout: float = 30.0) -> str | None:
    """The version the server reports once it is ``version`` (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        served = httpx.get(url + "/healthz", timeout=10).json().get("version")
        if served == version or time.monotonic() > deadline:
            return served
        time.sleep(0.1)


def soak(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="healthfaq-soak-"))
    server = None
    try:
        corpus, big_corpus, index_dir = work / "corpus.jsonl", work / "big.jsonl", work / "index"
        vocabulary = write_corpus(corpus, args.records, seed=1)
        write_corpus(big_corpus, args.records * 4, seed=2)
        slugs = [f"soak-{n}" for n in range(args.records)]
        subprocess.run(build_command(corpus, index_dir), check=True, cwd=ROOT, capture_output=True)

        # MALLOC_ARENA_MAX=2 is the recommended setting for serving (README, Operations): glibc's
        # per-thread arenas otherwise keep the memory of replaced index versions as fragmentation.
        # The load stands for many visitors, but on loopback they share one address: the per-client
        # share of the concurrency cap (a quarter by default) would refuse them as one noisy client.
        env = {
            "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
            "HEALTHFAQ_RELOAD_INTERVAL": "0.5",
            "HEALTHFAQ_MAX_CONCURRENCY_PER_CLIENT": str(args.concurrency),
        }
        try:
            server = start_server(index_dir, work, workers=args.workers, corpus=corpus, env=env)
        except RuntimeError as exc:
            raise SystemExit(f"server did not start: {exc}") from None
        url, pid = server.url, server.process.pid
        with_suggest = httpx.get(url + "/suggest", params={"q": "pa"}, timeout=10).status_code != 404

        # Warm-up, with rebuilds: the baseline then includes warm caches and the one-time high
        # water mark of two index versions alive during a swap, so what grows after it is a leak.
        # Two rebuilds: the allocator's arenas reach their working size only after a swap or two.
        warm_build = threading.Thread(
            target=lambda: [
                subprocess.run(build_command(corpus, index_dir), cwd=ROOT, capture_output=True) for _ in range(2)
            ]
        )
        warm_build.start()
        asyncio.run(run_load(url, args.warmup, args.concurrency, args.max_requests, slugs, vocabulary, with_suggest, 0))
        warm_build.join()
        wait_for_version(url, (index_dir / "CURRENT").read_text().strip())
        rss_start = steady_rss(
            pid,
            lambda: asyncio.run(
                run_load(url, 2.0, args.concurrency, args.max_requests, slugs, vocabulary, with_suggest, 0)
            ),
        )

        builds = Builds(corpus, big_corpus, index_dir, every=args.reindex_every, kill_at=args.duration / 2)
        builds.thread.start()
        started = time.monotonic()
        statuses, connection_errors, latencies = asyncio.run(
            run_load(url, args.duration, args.concurrency, args.max_requests, slugs, vocabulary, with_suggest, 1)
        )
        elapsed = time.monotonic() - started
        builds.stop.set()
        builds.thread.join(timeout=600)

        newest = (index_dir / "CURRENT").read_text().strip()
        served = wait_for_version(url, newest)
        # Measured like the start: the median under the same short load once the last swap has
        # settled, so what differs is growth, not a swap's transient high water or a trim.
        time.sleep(1.5)
        rss_end = steady_rss(
            pid,
            lambda: asyncio.run(
                run_load(url, 2.0, args.concurrency, args.max_requests, slugs, vocabulary, with_suggest, 0)
            ),
        )
        p50, p99 = percentiles(latencies, (50, 99))
        by_status = Counter()
        for (_, status), count in statuses.items():
            by_status[status] += count
        report = {
            "duration_s": round(elapsed, 1),
            "concurrency": args.concurrency,
            "workers": args.workers,
            "requests": sum(statuses.values()) + sum(connection_errors.values()),
            "requests_per_s": round(sum(statuses.values()) / elapsed, 1),
            "by_status": {str(k): v for k, v in sorted(by_status.items())},
            "by_kind": {f"{kind} {status}": v for (kind, status), v in sorted(statuses.items())},
            "server_errors": sum(v for k, v in by_status.items() if k >= 500),
            "connection_errors": dict(connection_errors),
            "p50_ms": None if p50 is None else round(p50 * 1000, 2),
            "p99_ms": None if p99 is None else round(p99 * 1000, 2),
            "malloc_arena_max": env.get("MALLOC_ARENA_MAX"),
            "rss_start_mb": round(rss_start / 2**20, 1),
            "rss_end_mb": round(rss_end / 2**20, 1),
            "rss_growth": round(rss_end / rss_start - 1, 4),
            "rebuilds": builds.done,
            "killed_builds": builds.killed,
            "failed_builds": builds.failed,
            "final_version_served": served == newest,
        }
        report["ok"] = (
            report["server_errors"] == 0
            and not connection_errors
            and report["rss_growth"] < MAX_RSS_GROWTH
            and not builds.failed
            and builds.killed == 1
            and report["final_version_served"]
        )
        return report
    finally:
        if server is not None:
            stop_server(server, timeout=20)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--concurrency", type=int, default=32, help="clients at once (default 32)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument("--records", type=int, default=400, help="articles in the synthetic corpus (default 400)")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds of load before the baseline (default 8)")
    parser.add_argument("--reindex-every", type=float, default=10.0, help="seconds between rebuilds (default 10)")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="hard cap on requests sent")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server log, index)")
    args = parser.parse_args(argv)
    report = soak(args)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>20}: {value}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
