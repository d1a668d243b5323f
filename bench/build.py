"""Build times: ours through the normal pipeline in a child process, the peers in this one.

Ours runs as `python -m service build`, exactly as an operator runs it, so its figure includes
what the command does beyond indexing (loading, chunking, the forked writer, embedding every
passage) and its peak memory is its own; the embedding's share is read from the build's own
progress line, so the lexical part can still be set beside the lexical peers. The peers index
passages already loaded and chunked here; the report adds that load and chunk time to them in a
second row, so both readings are on the table.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench import ROOT
from bench.memory import tree_rss
from bench.stats import rotated
from service.build.chunking import chunk_articles
from service.build.corpus import load_articles
from service.index.models import Passage
from service.index.version import current_version, version_path

if TYPE_CHECKING:
    from bench.engines import Peer


@dataclass(frozen=True)
class OurBuild:
    command: str
    seconds: float  # as the build reports it
    wall_seconds: float  # with the interpreter's start
    passages: int | None
    size_bytes: int  # the version directory
    peak_rss_bytes: int  # the build's whole process tree
    version: str
    embedded: int  # texts the model ran on, passages and sentences (0 when all were cached, or lexical)
    embedding_seconds: float  # from the progress line's count and rate


# The last line `service build` writes while embedding (service.build.progress, not a terminal):
# "embedding passages and sentences: 203329/203329 texts (100%) in 10m34s (320.5/s)"; builds
# before sentences were embedded wrote "embedding passages: 29887/29887 passages (100%) in …".
EMBEDDED_LINE = re.compile(
    r"embedding passages(?: and sentences)?: (\d+)/\1 (?:passages|texts) \(100%\) in \S+ \(([\d.]+)/s\)"
)


def build_ours(corpus: Path, index_dir: Path, procs: int | None, log_file: Path) -> OurBuild:
    """`python -m service build` as a child: its own timing, wall time, peak RSS, size on disk.
    Exits with the build's output when the build fails."""
    command = [sys.executable, "-m", "service", "build", "--corpus", str(corpus), "--index", str(index_dir)]
    if procs:
        command += ["--procs", str(procs)]
    with open(log_file, "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        returncode, peak_rss = _wait_measuring_rss(process)
        wall = time.perf_counter() - started
    output = log_file.read_text(encoding="utf-8", errors="replace")
    if returncode != 0:
        raise SystemExit(f"build failed ({returncode}): {' '.join(command)}\n{output[-2000:]}")
    match = re.search(r"(\d+) passages in ([\d.]+) s", output)
    passages, seconds = (int(match.group(1)), float(match.group(2))) if match else (None, wall)
    version = version_path(index_dir, current_version(index_dir))
    embedded, embedding_seconds = embedding_figures(output)
    return OurBuild(
        command=" ".join(command[1:]),
        seconds=seconds,
        wall_seconds=wall,
        passages=passages,
        size_bytes=dir_size(version),
        peak_rss_bytes=peak_rss,
        version=version.name,
        embedded=embedded,
        embedding_seconds=embedding_seconds,
    )


def embedding_figures(output: str) -> tuple[int, float]:
    """(passages embedded, seconds embedding) from a build's output; (0, 0.0) when it embedded
    nothing (every vector cached, or no model). The seconds are count / rate: the rate has a
    decimal where the printed duration has whole seconds."""
    match = EMBEDDED_LINE.search(output)
    if not match:
        return 0, 0.0
    count, rate = int(match.group(1)), float(match.group(2))
    return count, count / rate if rate else 0.0


def _wait_measuring_rss(process: subprocess.Popen) -> tuple[int, int]:
    """(exit code, peak RSS): the tree sampled every 0.1 s, and the kernel's own peak for the
    main process, which catches a spike between two samples."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(tree_rss(process.pid)))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, max(usage.ru_maxrss * 1024, peak[0])


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def load_passages(corpus: Path) -> tuple[list[Passage], float]:
    """The passages the peers index, through the normal loader and chunker; and the seconds it took."""
    started = time.perf_counter()
    passages = chunk_articles(load_articles(corpus))
    return passages, time.perf_counter() - started


def time_peer_builds(peers: Sequence[Peer], rounds: int, log: Callable[[str], None]) -> dict[str, list[float]]:
    """Seconds of each peer's build in each round, which peer goes first alternating round by round;
    a peer that searches another's index (its build returns None) is left out."""
    seconds: dict[str, list[float]] = {peer.name: [] for peer in peers}
    for r in range(rounds):
        for peer in rotated(peers[::-1], r):  # the last column's peer first, then the order turns
            took = peer.build()
            if took is not None:
                seconds[peer.name].append(took)
    seconds = {name: s for name, s in seconds.items() if s}
    log(
        "  peers: "
        + ", ".join(f"{name} {statistics.median(s):.2f} s" for name, s in seconds.items())
        + f" (median of {rounds})"
    )
    return seconds
