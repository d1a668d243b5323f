"""Our server over HTTP: real uvicorn processes, loaded by a separate process.

The load generator (`python -m bench.loadgen`) runs in its own process so that its CPU shows as
what it is on a 2-core machine: a client competing with the server. Every figure is also taken
for /healthz on the same server, back to back, so an endpoint's share of /healthz says what the
search costs on top of serving a request at all.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT
from bench.memory import tree_pss, tree_rss
from bench.mixes import Query
from bench.server import LiveServer, start_server, stop_server
from bench.stats import rotated

ENDPOINTS = ("/healthz", "/search", "/suggest")
READY_TIMEOUT = 300.0  # MedQuAD on a busy machine


@dataclass(frozen=True)
class LoadPlan:
    workers: Sequence[int]
    concurrency: Sequence[int]
    rounds: int
    duration: float  # seconds per loadgen run


def search_rotation(questions: list[dict], seed: int) -> list[str]:
    """All the dev questions, shuffled: what /search is sent, one after another."""
    return random.Random(seed).sample([q["query"] for q in questions], len(questions))


def write_request_files(work: Path, rotation: list[str], box: list[Query]) -> dict[str, Path]:
    """One file of request paths per endpoint, as the load generator reads them."""
    files = {endpoint: work / f"{endpoint.strip('/')}.txt" for endpoint in ENDPOINTS}
    files["/healthz"].write_text("/healthz\n")
    files["/search"].write_text("".join(f"/search?q={urllib.parse.quote_plus(q)}&limit=10\n" for q in rotation))
    files["/suggest"].write_text("".join(f"/suggest?q={urllib.parse.quote_plus(q.text)}\n" for q in box))
    return files


def load_servers(
    name: str, index_dir: Path, files: dict[str, Path], plan: LoadPlan, work: Path, log: Callable[[str], None]
) -> dict:
    """{workers: {"ready_s", "cold_s": {endpoint: s}, "rss": {...}, "endpoints": {endpoint: {c: runs}}}}."""
    out: dict = {}
    for workers in plan.workers:
        server = start_server(index_dir, work, workers=workers, timeout=READY_TIMEOUT)
        try:
            _wait_for_every_worker(server)
            served = _served_paths(server)
            endpoints = [e for e in files if e in served or e == "/healthz"]
            cold = {e: _first_answers(server, files[e].read_text().split("\n", 1)[0], workers) for e in endpoints}
            runs = _load_rounds(server, {e: files[e] for e in endpoints}, plan, log, f"{name} w={workers}")
            sizes, shared = tree_rss(server.process.pid), tree_pss(server.process.pid)
            out[workers] = {
                "ready_s": server.ready_seconds,
                "cold_s": cold,
                "rss": {"total_bytes": sum(sizes), "processes": sizes, "pss_bytes": sum(shared)},
                "endpoints": runs,
            }
        finally:
            stop_server(server)
    return out


def _load_rounds(
    server: LiveServer, files: dict[str, Path], plan: LoadPlan, log: Callable[[str], None], label: str
) -> dict:
    """{endpoint: {concurrency: {"rounds": [loadgen results], "median": {...}}}}."""
    endpoints = list(files)
    raw: dict[str, dict[int, list[dict]]] = {e: {c: [] for c in plan.concurrency} for e in endpoints}
    sent = {e: 0 for e in endpoints}
    for r in range(plan.rounds):
        for c in plan.concurrency:
            for endpoint in rotated(endpoints, r):
                # The rotation goes on where the last run stopped, so the server's result cache
                # meets each question again only after thousands of others.
                result = _run_loadgen(server.port, files[endpoint], c, plan.duration, sent[endpoint])
                sent[endpoint] += result["requests"] + c
                raw[endpoint][c].append(result)
        log(
            f"  http {label} round {r + 1}/{plan.rounds}: "
            + "; ".join(
                f"c={c} " + " ".join(f"{e} {raw[e][c][-1]['rps']:.0f}/s" for e in endpoints) for c in plan.concurrency
            )
        )
    return {e: {c: {"rounds": rs, "median": _median_runs(rs)} for c, rs in per.items()} for e, per in raw.items()}


def _run_loadgen(port: int, paths_file: Path, concurrency: int, duration: float, offset: int) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--paths",
        str(paths_file),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--offset",
        str(offset),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _median_runs(results: list[dict]) -> dict:
    def median(key: str) -> float | None:
        values = [r[key] for r in results if r.get(key) is not None]
        return statistics.median(values) if values else None

    return {
        "rps": median("rps"),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "errors": sum(r["errors"] for r in results),
        "requests": sum(r["requests"] for r in results),
    }


def _wait_for_every_worker(server: LiveServer) -> None:
    """With several workers /readyz answers from the first one up: wait until the tree's memory
    stops growing (every worker has loaded the index) before measuring anything."""
    deadline = time.monotonic() + READY_TIMEOUT
    last, steady = 0, 0
    while steady < 3 and time.monotonic() < deadline:
        now = sum(tree_rss(server.process.pid))
        steady = steady + 1 if last and abs(now - last) < 0.01 * last else 0
        last = now
        time.sleep(0.5)


def _first_answers(server: LiveServer, path: str, workers: int) -> float:
    """Seconds until a cold server answers ``path``: two requests per worker at once, so every
    worker has usually done its lazy start-up work before anything is measured."""

    def one(_: int) -> float:
        started = time.perf_counter()
        _get(server, path, timeout=180.0)
        return time.perf_counter() - started

    with ThreadPoolExecutor(2 * workers) as pool:
        return max(pool.map(one, range(2 * workers)))


def _served_paths(server: LiveServer) -> set[str]:
    status, body = _get(server, "/openapi.json")
    return set(json.loads(body).get("paths", {})) if status == 200 else set()


def _get(server: LiveServer, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """A bare GET: no client library's set-up cost in a figure that times one request."""
    try:
        with urllib.request.urlopen(server.url + path, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
