"""Speed benchmark: our search against bm25s and tantivy, in-process and over HTTP, in one run.

    pip install -e '.[bench]'
    python scripts/bench.py                      # full run (~15 min on 2 cores)
    python scripts/bench.py --quick              # smoke run (~3 min)
    python scripts/bench.py --skip-build --index mq-index --skip-http --profile
    python scripts/bench.py --out medquad        # also bench-results/medquad.{md,json}

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
  scripts/loadgen.py (a separate process, keep-alive, closed loop) at concurrency 1, 8 and 32
  for /search (rotating through all dev questions), /healthz and /suggest when the API has it:
  requests/s, p50 and p99, and /search (or /suggest) as a share of /healthz;
- the served process tree's RSS with the MedQuAD index loaded.
Each target from issue 5 is printed next to its figure with PASS or FAIL.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.chunking import chunk_articles  # noqa: E402
from service.corpus import load_articles  # noqa: E402
from service.indexer import current_version, version_path  # noqa: E402
from service.models import Passage  # noqa: E402
from service.schema import analyze  # noqa: E402
from service.search import SearchRequest, search  # noqa: E402
from service.store import LoadedIndex, open_version  # noqa: E402

MEDQUAD = ROOT.parent / "shared" / "bench" / "medquad"
BUNDLED = ROOT / "corpus"
LOADGEN = Path(__file__).resolve().parent / "loadgen.py"
RESULTS = ROOT / "bench-results"
K = 10
MRR_DEPTH = 50  # passages fetched to rank 10 documents, as scripts/evaluate.py does
LONG_WORDS = 60
_WORD = re.compile(r"[^\W_]+")

# Issue 5 targets.
FAQ_P50_X, FAQ_P99_X, BOX_P50_X = 5.0, 10.0, 3.0
HTTP_SHARE = {"bundled": 0.50, "medquad": 0.25}
BUILD_X_TANTIVY = 10.0
SERVED_RSS_MB = 400.0


# --- query mixes --------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    text: str
    prefix: bool = False
    relevant: frozenset[str] = frozenset()


def faq_mix(queries: list[dict], n: int, seed: int) -> list[Query]:
    """The same deterministic sample as scripts/evaluate.py --sample N --seed S."""
    chosen = random.Random(seed).sample(queries, n) if n < len(queries) else queries
    return [Query(q["query"], relevant=frozenset(q["relevant"])) for q in chosen]


def box_mix(passages: Sequence[Passage], n: int, seed: int) -> list[Query]:
    """What a search box sends: 1, 2 or 3 words of a title, or words then a 3-5 letter prefix."""
    titles = sorted({p.article.title for p in passages})
    rng = random.Random(seed)
    out: list[Query] = []
    for i, title in enumerate(rng.choices(titles, k=n)):
        words = [w.lower() for w in _WORD.findall(title)] or [title.lower()]
        kind = i % 4
        if kind < 3:
            out.append(Query(" ".join(words[:kind + 1])))
        else:  # typed ahead: the words before, then the start of the next one
            at = rng.randrange(min(len(words), 3))
            word = words[at]
            cut = min(len(word), rng.randint(3, 5))
            out.append(Query(" ".join([*words[:at], word[:cut]]), prefix=True))
    return out


def long_mix(records: list[dict], n: int, seed: int) -> list[Query]:
    """Pasted messages: the first 60 words of answers long enough to have them."""
    texts = [r["text"].split() for r in records]
    texts = [" ".join(t[:LONG_WORDS]) for t in texts if len(t) >= LONG_WORDS]
    return [Query(t) for t in random.Random(seed).sample(texts, min(n, len(texts)))]


def peer_text(p: Passage) -> str:
    """What ours indexes for a passage (indexer's `words` field): title, heading unless it is the
    title, text."""
    heading = "" if p.section == p.article.title else p.section
    return " ".join((p.article.title, heading, p.text))


# --- engines ------------------------------------------------------------------------------

class Ours:
    name = "ours"

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index

    def config(self) -> str:
        return ("service.search.search(index, SearchRequest(q, limit=10, prefix=True for typed-ahead box "
                "queries)): the full default search the API calls (synonyms, typo handling, snippets, care "
                "advice), index opened once, no result cache")

    def slugs(self, q: Query, k: int) -> list[str]:
        results = search(self.index, SearchRequest(q=q.text, limit=k, prefix=q.prefix))
        return [h.passage.article.slug for h in results.hits]


class Bm25sPeer:
    name = "bm25s"

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = passages
        self.retriever = None

    def build(self) -> float:
        import bm25s

        started = time.perf_counter()
        tokens = [analyze(peer_text(p)) for p in self.passages]
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        self.retriever = retriever
        return time.perf_counter() - started

    def config(self) -> str:
        r = self.retriever
        return (f"bm25s {dist_version('bm25s')}: BM25(method={r.method}, k1={r.k1}, b={r.b}, backend={r.backend}), "
                f"one field = title + heading + text, pre-tokenised with service.schema.analyze (same stems "
                f"and stop words), retrieve(k, n_threads=0) = one thread, top-k by numpy argpartition over all passages (slow "
                f"when most scores are 0, i.e. on rare-word queries); query analysis timed; "
                f"zero-score results dropped; no prefix expansion")

    def slugs(self, q: Query, k: int) -> list[str]:
        tokens = analyze(q.text)
        if not tokens:
            return []
        docs, scores = self.retriever.retrieve([tokens], k=k, show_progress=False, n_threads=0)
        return [self.passages[int(d)].article.slug for d, s in zip(docs[0], scores[0]) if s > 0]


class TantivyPeer:
    name = "tantivy"

    def __init__(self, passages: Sequence[Passage], folder: Path, tokenizer: str) -> None:
        self.passages = passages
        self.folder = folder
        self.tokenizer = tokenizer
        self.index = self.searcher = None

    def build(self) -> float:
        import tantivy

        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        started = time.perf_counter()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False, tokenizer_name=self.tokenizer)
        builder.add_unsigned_field("row", stored=True, indexed=False)
        index = tantivy.Index(builder.build(), path=str(self.folder))
        if self.tokenizer == "en_stem_stop":
            from tantivy import Filter, TextAnalyzerBuilder, Tokenizer
            index.register_tokenizer("en_stem_stop", TextAnalyzerBuilder(Tokenizer.simple())
                                     .filter(Filter.remove_long(40)).filter(Filter.lowercase())
                                     .filter(Filter.stopword("english")).filter(Filter.stemmer("english")).build())
        writer = index.writer(heap_size=128_000_000, num_threads=1)
        for row, p in enumerate(self.passages):
            writer.add_document(tantivy.Document(body=peer_text(p), row=row))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self.index, self.searcher = index, index.searcher()
        return time.perf_counter() - started

    def config(self) -> str:
        return (f"tantivy {dist_version('tantivy')}: one text field = title + heading + text, tokenizer "
                f"{self.tokenizer!r}, writer(heap 128 MB, num_threads=1), {self.searcher.num_segments} segment(s); "
                f"query = its own parser over the query's words (OR, BM25 defaults), search(limit=k) on one "
                f"searcher opened once, row id read from the stored doc; no prefix expansion")

    def slugs(self, q: Query, k: int) -> list[str]:
        text = " ".join(_WORD.findall(q.text.lower()))
        if not text:
            return []
        try:
            query = self.index.parse_query(text, ["body"])
        except ValueError:
            query, _errors = self.index.parse_query_lenient(text, ["body"])
        hits = self.searcher.search(query, k).hits
        return [self.passages[self.searcher.doc(addr)["row"][0]].article.slug for _, addr in hits]


# --- measuring ----------------------------------------------------------------------------

def percentiles(wall_ms: Sequence[float], cpu_ms: Sequence[float]) -> dict[str, float]:
    """Wall-clock percentiles (what a caller waits) and the thread's CPU time (what the engine
    spent, without the waits for a core that a shared machine adds)."""
    wall, cpu = np.asarray(wall_ms, dtype=np.float64), np.asarray(cpu_ms, dtype=np.float64)
    p50, p95, p99 = np.percentile(wall, [50, 95, 99])
    cpu50, cpu99 = np.percentile(cpu, [50, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(wall.mean()),
            "cpu_p50": float(cpu50), "cpu_p99": float(cpu99)}


def time_batch(engine, queries: Sequence[Query]) -> dict[str, float]:
    gc.collect()
    wall, cpu = [], []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for q in queries:
        started, cpu_started = clock(), cpu_clock()
        engine.slugs(q, K)
        cpu.append((cpu_clock() - cpu_started) / 1e6)
        wall.append((clock() - started) / 1e6)
    return percentiles(wall, cpu)


def latency_rounds(engines: list, mixes: dict[str, list[Query]], rounds: int, log) -> dict:
    """{mix: {engine: {"rounds": [percentiles...], "median": percentiles}}}."""
    for engine in engines:  # warm caches (stems, numpy, tantivy's pages) before anything counts
        for queries in mixes.values():
            time_batch(engine, queries[:50])
    raw: dict[str, dict[str, list[dict]]] = {m: {e.name: [] for e in engines} for m in mixes}
    for r in range(rounds):
        order = engines[r % len(engines):] + engines[:r % len(engines)]
        for mix, queries in mixes.items():
            for engine in order:
                raw[mix][engine.name].append(time_batch(engine, queries))
        log(f"  latency round {r + 1}/{rounds}: " + ", ".join(
            f"{m} p50 " + "/".join(f"{raw[m][e.name][-1]['p50']:.2f}" for e in engines) for m in mixes)
            + " ms (" + "/".join(e.name for e in engines) + ")")
    return {mix: {name: {"rounds": rs, "median": {k: statistics.median(x[k] for x in rs) for k in rs[0]}}
                  for name, rs in per.items()} for mix, per in raw.items()}


def mrr_at_10(engine, queries: Sequence[Query]) -> float:
    total = 0.0
    for q in queries:
        docs = list(dict.fromkeys(engine.slugs(q, MRR_DEPTH)))[:K]
        rank = next((i for i, d in enumerate(docs, start=1) if d in q.relevant), None)
        total += 1.0 / rank if rank else 0.0
    return total / max(1, len(queries))


def profile_ours(engine: Ours, mixes: dict[str, list[Query]], n: int, top: int) -> str:
    """cProfile of ours over the first n queries of each mix: where the time goes."""
    out = io.StringIO()
    for mix in ("faq", "long", "box"):
        queries = mixes[mix][:n]
        profiler = cProfile.Profile()
        profiler.enable()
        for q in queries:
            engine.slugs(q, K)
        profiler.disable()
        stats = pstats.Stats(profiler)
        total = stats.total_tt
        rows = []
        for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
            rows.append((tt, ct, nc, f"{_short(file)}:{line}({func})"))
        out.write(f"\n### profile: ours, {len(queries)} {mix} queries, {total / len(queries) * 1000:.2f} ms/query "
                  f"under cProfile\n")
        out.write(f"{'tottime ms/q':>12} {'cumtime ms/q':>12} {'calls/q':>8}  function (service/ first by cumtime)\n")
        ours_rows = sorted((r for r in rows if r[3].startswith("service/")), key=lambda r: -r[1])[:top]
        rest = sorted(rows, key=lambda r: -r[0])[:top]
        for tt, ct, nc, name in ours_rows:
            out.write(f"{tt / len(queries) * 1000:12.3f} {ct / len(queries) * 1000:12.3f} {nc / len(queries):8.1f}  {name}\n")
        out.write(f"{'':>12} {'':>12} {'':>8}  -- top by own time --\n")
        for tt, ct, nc, name in rest:
            out.write(f"{tt / len(queries) * 1000:12.3f} {ct / len(queries) * 1000:12.3f} {nc / len(queries):8.1f}  {name}\n")
    return out.getvalue()


def _short(file: str) -> str:
    path = Path(file)
    try:
        return str(path.resolve().relative_to(ROOT))
    except (ValueError, OSError):
        pass
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1:])
    return file if file.startswith("<") or file == "~" else "/".join(parts[-2:])


# --- build --------------------------------------------------------------------------------

def tree_rss(pid: int) -> tuple[int, list[int]]:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, []
    sizes = []
    for p in procs:
        try:
            sizes.append(p.memory_info().rss)
        except psutil.Error:
            pass
    return sum(sizes), sizes


def build_ours(corpus: Path, index_dir: Path, procs: int | None, log_file: Path) -> dict:
    """`python -m service build` as a child: its own timing, wall time, peak RSS, size on disk."""
    cmd = [sys.executable, "-m", "service", "build", "--corpus", str(corpus), "--index", str(index_dir)]
    if procs:
        cmd += ["--procs", str(procs)]
    peak = [0]
    done = threading.Event()
    with open(log_file, "w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(proc.pid)[0])
                done.wait(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    output = log_file.read_text(encoding="utf-8", errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}): {' '.join(cmd)}\n{output[-2000:]}")
    match = re.search(r"(\d+) passages in ([\d.]+) s", output)
    passages, seconds = (int(match.group(1)), float(match.group(2))) if match else (None, wall)
    version = version_path(index_dir, current_version(index_dir))
    return {"command": " ".join(cmd[1:]), "seconds": seconds, "wall_seconds": wall, "passages": passages,
            "size_bytes": dir_size(version), "peak_rss_bytes": max(usage.ru_maxrss * 1024, peak[0]),
            "version": version.name}


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# --- HTTP ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    """`python -m service serve` on a free loopback port; stopped by its own pid (and group)."""

    def __init__(self, index_dir: Path, workers: int, log_file: Path) -> None:
        self.port = free_port()
        self.log_file = log_file
        self._log = open(log_file, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--index", str(index_dir), "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers)],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers = workers

    def wait_ready(self, timeout: float = 300.0) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log_file.read_text()[-2000:]}")
            try:
                if http_get(self.port, "/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"server not ready after {timeout:.0f} s: {self.log_file.read_text()[-2000:]}")
        ready = time.perf_counter() - started
        # With several workers /readyz answers from the first one up; wait for every worker to have
        # loaded the index (the tree's memory stops growing) before measuring anything.
        last, steady = 0, 0
        while steady < 3 and time.perf_counter() - started < timeout:
            now = tree_rss(self.proc.pid)[0]
            steady = steady + 1 if last and abs(now - last) < 0.01 * last else 0
            last = now
            time.sleep(0.5)
        return ready

    def first_requests(self, path: str, timeout: float = 180.0) -> float:
        """Seconds until a cold server answers ``path``: two requests per worker at once, so every
        worker has usually done its lazy start-up work before anything is measured."""
        def one(_: int) -> float:
            started = time.perf_counter()
            http_get(self.port, path, timeout=timeout)
            return time.perf_counter() - started
        with ThreadPoolExecutor(2 * self.workers) as pool:
            return max(pool.map(one, range(2 * self.workers)))

    def paths(self) -> set[str]:
        status, body = http_get(self.port, "/openapi.json")
        return set(json.loads(body).get("paths", {})) if status == 200 else set()

    def rss(self) -> dict:
        total, sizes = tree_rss(self.proc.pid)
        return {"total_bytes": total, "processes": sizes}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


def run_loadgen(port: int, paths_file: Path, concurrency: int, duration: float, offset: int) -> dict:
    cmd = [sys.executable, str(LOADGEN), "--port", str(port), "--paths", str(paths_file),
           "--concurrency", str(concurrency), "--duration", str(duration), "--offset", str(offset)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def http_section(name: str, index_dir: Path, workers: Sequence[int], concurrency: Sequence[int],
                 files: dict[str, Path], rounds: int, duration: float, work: Path, log) -> dict:
    """{workers: {"endpoints": {ep: {c: {"rounds": [...], "median": {...}}}}, "rss": ..., "ready_s": ...}}."""
    out: dict = {}
    for w in workers:
        server = Server(index_dir, w, work / f"serve-{name}-{w}.log")
        try:
            ready = server.wait_ready()
            available = server.paths()
            endpoints = [ep for ep in files if ep in available or ep == "/healthz"]
            cold = {ep: server.first_requests(files[ep].read_text().split("\n", 1)[0]) for ep in endpoints}
            raw: dict[str, dict[int, list[dict]]] = {ep: {c: [] for c in concurrency} for ep in endpoints}
            sent = {ep: 0 for ep in endpoints}
            for r in range(rounds):
                for c in concurrency:
                    order = endpoints[r % len(endpoints):] + endpoints[:r % len(endpoints)]
                    for ep in order:
                        # The rotation goes on where the last run stopped, so the server's result
                        # cache meets each question again only after thousands of others.
                        res = run_loadgen(server.port, files[ep], c, duration, sent[ep])
                        sent[ep] += res["requests"] + c
                        raw[ep][c].append(res)
                log(f"  http {name} w={w} round {r + 1}/{rounds}: " + "; ".join(
                    f"c={c} " + " ".join(f"{ep} {raw[ep][c][-1]['rps']:.0f}/s" for ep in endpoints) for c in concurrency))
            rss = server.rss()
            out[w] = {"ready_s": ready, "cold_s": cold, "rss": rss, "endpoints": {
                ep: {c: {"rounds": rs, "median": _median_http(rs)} for c, rs in per.items()} for ep, per in raw.items()}}
        finally:
            server.stop()
    return out


def _median_http(results: list[dict]) -> dict:
    def med(key):
        values = [r[key] for r in results if r.get(key) is not None]
        return statistics.median(values) if values else None
    return {"rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "errors": sum(r["errors"] for r in results), "requests": sum(r["requests"] for r in results)}


# --- table --------------------------------------------------------------------------------

@dataclass
class Table:
    columns: tuple[str, ...] = ("area", "figure", "ours", "bm25s", "tantivy", "/healthz", "ratio", "target", "ok")
    rows: list[dict] = field(default_factory=list)
    verdicts: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, area: str, figure: str, **cells: str) -> None:
        self.rows.append({"area": area, "figure": figure, **cells})

    def target(self, name: str, passed: bool) -> str:
        self.verdicts.append((name, passed))
        return "PASS" if passed else "FAIL"

    def render(self) -> str:
        cols = [c for c in self.columns if any(r.get(c) for r in self.rows) or c in ("area", "figure")]
        widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in self.rows)) for c in cols}
        line = lambda cells: "| " + " | ".join(str(cells.get(c, "")).ljust(widths[c]) for c in cols) + " |"  # noqa: E731
        out = [line({c: c for c in cols}), "|" + "|".join("-" * (widths[c] + 2) for c in cols) + "|"]
        out += [line(r) for r in self.rows]
        return "\n".join(out)


def ms(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 10 else f"{v:.1f}"


def x(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "–"


def mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


def http_cell(m: dict) -> str:
    return f"{m['rps']:.0f}/s · {ms(m['p50_ms'])} · {ms(m['p99_ms'])}" + (f" · {m['errors']} err" if m["errors"] else "")


# --- main ---------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=MEDQUAD / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=MEDQUAD / "dev_queries.jsonl")
    parser.add_argument("--bundled", type=Path, default=BUNDLED, help="the small corpus served over HTTP too")
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
    http_rounds = args.http_rounds or args.rounds
    workers = [int(w) for w in args.workers.split(",")]
    concurrency = [int(c) for c in args.concurrency.split(",")]

    work = Path(tempfile.mkdtemp(prefix="healthfaq-bench-"))
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    raw: dict = {"started_at": datetime.now(timezone.utc).isoformat(), "args": {k: str(v) for k, v in vars(args).items()},
                 "machine": machine_info()}
    try:
        report = run(args, work, raw, log, workers, concurrency, http_rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(report)
    if args.out:
        base = Path(args.out) if os.sep in args.out else RESULTS / args.out
        base = base.with_suffix("") if base.suffix in (".md", ".json") else base
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_suffix(".md").write_text(report + "\n", encoding="utf-8")
        base.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
        log(f"wrote {base.with_suffix('.md')} and {base.with_suffix('.json')}")
    return 0


def machine_info() -> dict:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "service"], cwd=ROOT, capture_output=True,
                           text=True).stdout.split("\n")
    return {"commit": head, "service_changes": len([d for d in dirty if d.strip()]),
            "python": platform.python_version(), "cpus": os.cpu_count(), "load_start": os.getloadavg(),
            "blas_env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}}


def run(args, work: Path, raw: dict, log, workers, concurrency, http_rounds) -> str:
    table = Table()
    notes: list[str] = []
    mq_dir = args.index or work / "medquad-index"

    # 1. Our build, in a child process, through the normal pipeline.
    if args.skip_build:
        build = None
        log(f"build skipped: using {mq_dir}")
    else:
        log(f"building MedQuAD with `service build` into {mq_dir} ...")
        build = build_ours(args.corpus, mq_dir, args.build_procs, work / "build.log")
        raw["build"] = build
        log(f"  ours: {build['seconds']:.1f} s, {mb(build['peak_rss_bytes'])} peak")

    # 2. The same passages for the peers (the normal loader and chunker, in this process).
    records = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    passages = chunk_articles(load_articles(args.corpus))
    load_chunk = time.perf_counter() - started
    raw["load_chunk_seconds"] = load_chunk

    bm25 = Bm25sPeer(passages)
    tan = TantivyPeer(passages, work / "tantivy", args.tantivy_tokenizer)
    peer_builds: dict[str, list[float]] = {"tantivy": [], "bm25s": []}
    for r in range(args.rounds):
        for peer in ((tan, bm25) if r % 2 == 0 else (bm25, tan)):
            peer_builds[peer.name].append(peer.build())
    raw["peer_builds"] = peer_builds
    tan_build, bm_build = statistics.median(peer_builds["tantivy"]), statistics.median(peer_builds["bm25s"])
    log(f"  peers: tantivy {tan_build:.2f} s, bm25s {bm_build:.2f} s (median of {args.rounds})")

    # 3. Ours, opened once.
    started = time.perf_counter()
    index = open_version(version_path(mq_dir, current_version(mq_dir)))
    open_s = time.perf_counter() - started
    ours = Ours(index)
    if index.passage_count != len(passages):
        notes.append(f"WARNING: the index has {index.passage_count} passages, the chunker now gives {len(passages)}: "
                     f"peers indexed the latter (an index built from another chunker version?)")

    if build:
        table.add("build", "seconds (ours: service build)", ours=f"{build['seconds']:.1f}", bm25s=f"{bm_build:.2f}",
                  tantivy=f"{tan_build:.2f}", ratio=f"{x(build['seconds'], tan_build)} tantivy",
                  target=f"≤ {BUILD_X_TANTIVY:.0f}× tantivy",
                  ok=table.target("build ≤ 10× tantivy", build["seconds"] <= BUILD_X_TANTIVY * tan_build))
        table.add("build", "seconds, peers + load & chunk", ours=f"{build['seconds']:.1f}",
                  bm25s=f"{bm_build + load_chunk:.2f}", tantivy=f"{tan_build + load_chunk:.2f}",
                  ratio=f"{x(build['seconds'], tan_build + load_chunk)} tantivy")
        table.add("build", "passages/s", ours=f"{len(passages) / build['seconds']:,.0f}",
                  bm25s=f"{len(passages) / bm_build:,.0f}", tantivy=f"{len(passages) / tan_build:,.0f}")
        table.add("build", "index size on disk", ours=mb(build["size_bytes"]), tantivy=mb(dir_size(tan.folder)))
        table.add("build", "peak RSS (child process)", ours=mb(build["peak_rss_bytes"]))
    table.add("open", "index open, seconds", ours=f"{open_s:.2f}")

    # 4. Query mixes and in-process latency.
    dev = [json.loads(line) for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    mixes = {"box": box_mix(passages, args.sample, args.seed), "faq": faq_mix(dev, args.sample, args.seed),
             "long": long_mix(records, args.sample, args.seed)}
    engines = [ours, bm25, tan]
    log(f"latency: {args.rounds} round(s) × {', '.join(f'{len(v)} {k}' for k, v in mixes.items())} queries ...")
    lat = latency_rounds(engines, mixes, args.rounds, log)
    raw["latency"] = lat
    for mix in mixes:
        med = {e.name: lat[mix][e.name]["median"] for e in engines}
        for p in ("p50", "p95", "p99", "cpu_p99"):
            target, ok = "", ""
            if mix == "faq" and p in ("p50", "p99"):
                limit = FAQ_P50_X if p == "p50" else FAQ_P99_X
                target = f"≤ {limit:.0f}× bm25s"
                ok = table.target(f"faq {p} ≤ {limit:.0f}× bm25s", med["ours"][p] <= limit * med["bm25s"][p])
            elif mix == "box" and p == "p50":
                target = f"≤ {BOX_P50_X:.0f}× bm25s"
                ok = table.target("box p50 ≤ 3× bm25s", med["ours"][p] <= BOX_P50_X * med["bm25s"][p])
            figure = "p99 ms, thread CPU time" if p == "cpu_p99" else f"{p} ms"
            table.add(f"latency {mix}", figure, ours=ms(med["ours"][p]), bm25s=ms(med["bm25s"][p]),
                      tantivy=ms(med["tantivy"][p]),
                      ratio=f"{x(med['ours'][p], med['bm25s'][p])} bm25s, {x(med['ours'][p], med['tantivy'][p])} tantivy",
                      target=target, ok=ok)

    # 5. Quality on the faq mix, beside the speed.
    log("MRR@10 on the faq mix ...")
    mrr = {e.name: mrr_at_10(e, mixes["faq"]) for e in engines}
    raw["mrr_at_10"] = mrr
    table.add("quality faq", "MRR@10", ours=f"{mrr['ours']:.3f}", bm25s=f"{mrr['bm25s']:.3f}",
              tantivy=f"{mrr['tantivy']:.3f}", target="> bm25s",
              ok=table.target("faq MRR@10 > bm25s", mrr["ours"] > mrr["bm25s"]))

    raw["engine_config"] = {e.name: e.config() for e in engines}
    profile = profile_ours(ours, mixes, min(200, args.sample), 14) if args.profile else ""
    del index, ours, engines, bm25, tan
    gc.collect()

    # 6. HTTP: real servers, a load generator in another process.
    if not args.skip_http:
        files = {"/healthz": work / "healthz.txt", "/search": work / "search.txt", "/suggest": work / "suggest.txt"}
        files["/healthz"].write_text("/healthz\n")
        rotation = random.Random(args.seed).sample([q["query"] for q in dev], len(dev))
        files["/search"].write_text("".join(f"/search?q={urllib.parse.quote_plus(q)}&limit=10\n" for q in rotation))
        files["/suggest"].write_text("".join(f"/suggest?q={urllib.parse.quote_plus(q.text)}\n" for q in mixes["box"]))
        log("building the bundled corpus ...")
        bundled_dir = work / "bundled-index"
        bundled_build = build_ours(args.bundled, bundled_dir, None, work / "build-bundled.log")
        bundled = open_version(version_path(bundled_dir, current_version(bundled_dir)))
        answered = sum(1 for q in rotation if search(bundled, SearchRequest(q=q, limit=K)).hits)
        notes.append(f"HTTP /search rotates through all {len(rotation)} dev questions (each client from its own "
                     f"offset, continuing across runs) with the server's default settings; on the bundled corpus "
                     f"({bundled_build['passages']} passages) {answered / len(rotation):.0%} of them find a passage.")
        del bundled
        http = {}
        for name, folder in (("bundled", bundled_dir), ("medquad", mq_dir)):
            log(f"HTTP on {name}: workers {workers}, concurrency {concurrency}, {http_rounds} round(s) of "
                f"{args.duration:g} s per run ...")
            http[name] = http_section(name, folder, workers, concurrency, files, http_rounds, args.duration, work, log)
        raw["http"] = http
        for name, per_w in http.items():
            for w, res in per_w.items():
                eps = res["endpoints"]
                table.add(f"HTTP {name} {w}w", "ready; first answers (cold), s",
                          ours=f"ready {res['ready_s']:.1f}; " + ", ".join(f"{ep} {t:.2f}" for ep, t in res["cold_s"].items()))
                for c in concurrency:
                    base = eps["/healthz"][c]["median"]
                    for ep in (e for e in eps if e != "/healthz"):
                        m = eps[ep][c]["median"]
                        # Paired: each round's runs of the two endpoints were back to back.
                        shares = [a["rps"] / b["rps"] for a, b in zip(eps[ep][c]["rounds"], eps["/healthz"][c]["rounds"])
                                  if b["rps"]]
                        share = statistics.median(shares) if shares else 0.0
                        target = ok = ""
                        if ep == "/search" and c == 8:
                            target = f"≥ {HTTP_SHARE[name]:.0%} of /healthz"
                            ok = table.target(f"HTTP {name} w={w} c=8 /search ≥ {HTTP_SHARE[name]:.0%} of /healthz",
                                              share >= HTTP_SHARE[name])
                        table.add(f"HTTP {name} {w}w", f"{ep} c={c}", ours=http_cell(m), **{"/healthz": http_cell(base)},
                                  ratio=f"{share:.0%} of /healthz", target=target, ok=ok)
        for w, res in http["medquad"].items():
            rss = res["rss"]
            detail = " + ".join(mb(s) for s in rss["processes"])
            ok = target = ""
            if w == min(http["medquad"]):
                target = f"< {SERVED_RSS_MB:.0f} MB"
                ok = table.target(f"served RSS ({w} worker) < {SERVED_RSS_MB:.0f} MB",
                                  rss["total_bytes"] < SERVED_RSS_MB * 2**20)
            table.add("served RSS", f"MedQuAD, {w} worker(s), after load", ours=f"{mb(rss['total_bytes'])} ({detail})",
                      target=target, ok=ok)

    raw["machine"]["load_end"] = os.getloadavg()
    raw["table"] = table.rows
    raw["targets"] = dict(table.verdicts)
    return render(args, raw, table, notes, build, len(passages), len(records), mixes, load_chunk, profile)


def render(args, raw, table: Table, notes, build, n_passages, n_records, mixes, load_chunk, profile) -> str:
    m = raw["machine"]
    failed = [name for name, ok in table.verdicts if not ok]
    lines = [
        f"## healthfaq benchmark — {raw['started_at'][:19]}Z, commit {m['commit']}"
        + (f" + {m['service_changes']} uncommitted file(s) in service/" if m["service_changes"] else ""),
        f"python {m['python']}, {m['cpus']} cpus, load average {m['load_start'][0]:.2f} at start, "
        f"{m['load_end'][0]:.2f} at end; BLAS env: {m['blas_env'] or 'none set'} (left as found)",
        f"corpus {args.corpus} ({n_records:,} records → {n_passages:,} passages; load + chunk {load_chunk:.1f} s); "
        f"queries {args.queries}; {', '.join(f'{len(v)} {k}' for k, v in mixes.items())} queries, seed {args.seed}; "
        f"latency = median of {args.rounds} round(s), engines' order rotated each round; top {K}, one thread",
        "",
        table.render(),
        "",
        "HTTP cells: requests/s · p50 ms · p99 ms (median of rounds); ratio = median over rounds of that endpoint's "
        "requests/s over /healthz's in the same round (run back to back), same concurrency, same server. "
        "Latency rows: wall clock, except the CPU-time row (the thread's own CPU time, immune to waiting for a "
        "core); ratio = ours over the peer.",
    ]
    lines += [f"{name}: {cfg}" for name, cfg in raw["engine_config"].items()]
    if build:
        lines.append(f"build: `{build['command']}` ({build['seconds']:.1f} s as the build reports it, "
                     f"{build['wall_seconds']:.1f} s wall with interpreter start); peers index the passages already "
                     f"loaded and chunked in the benchmark process (median of {args.rounds}); the second build row "
                     f"adds that load + chunk time to the peers")
    lines += notes
    lines.append(f"targets: {len(table.verdicts) - len(failed)}/{len(table.verdicts)} met"
                 + (f"; not met: {'; '.join(failed)}" if failed else ""))
    if profile:
        lines += ["", profile.rstrip()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
