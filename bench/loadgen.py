"""Closed-loop HTTP/1.1 load generator for the benchmark: keep-alive GETs over raw asyncio sockets.

    python -m bench.loadgen --port 8000 --paths paths.txt --concurrency 8 --duration 5

Each of the ``concurrency`` clients keeps one connection open and sends its next request as soon
as the previous answer is read (closed loop), cycling through the request paths in ``--paths``
(one per line) from its own starting offset. Loopback only; the run stops by itself after
``--duration`` seconds or ``--max-requests`` requests, whichever comes first. Prints one JSON
object: requests, errors, status counts, seconds, requests/s and latency percentiles (ms).

Raw sockets rather than an HTTP client library so that the generator costs as little CPU as
possible: on a 2-core machine it shares the cores with the server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from bench.stats import percentiles

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.status: dict[int, int] = {}
        self.errors = 0
        self.sent = 0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return (status, server wants the connection closed)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, close = None, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:  # no length: the body runs to the end of the connection
        await reader.read()
        close = True
    return status, close


async def _client(
    host: str,
    port: int,
    requests: list[bytes],
    start: int,
    deadline: float,
    record_from: float,
    budget: list[int],
    stats: Stats,
) -> None:
    reader = writer = None
    at = start
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            request = requests[at % len(requests)]
            at += 1
            began = time.perf_counter()
            writer.write(request)
            status, close = await _read_response(reader)
            ended = time.perf_counter()
            if began >= record_from:
                stats.sent += 1
                stats.status[status] = stats.status.get(status, 0) + 1
                if 200 <= status < 300:
                    stats.latencies.append((ended - began) * 1000.0)
                else:
                    stats.errors += 1
            if close:
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
            stats.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)  # a refused or broken connection must not spin
    if writer is not None:
        writer.close()


async def run(
    host: str,
    port: int,
    paths: list[str],
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int,
    offset: int,
) -> dict:
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n\r\n".encode() for p in paths]
    stats = Stats()
    started = time.perf_counter()
    record_from = started + warmup
    deadline = record_from + duration
    step = max(1, len(requests) // concurrency)
    budget = [max_requests]
    await asyncio.gather(
        *(
            _client(host, port, requests, offset + i * step, deadline, record_from, budget, stats)
            for i in range(concurrency)
        )
    )
    seconds = max(1e-9, min(time.perf_counter(), deadline) - record_from)
    ok = stats.latencies
    p50, p90, p99 = percentiles(ok, (50, 90, 99))
    return {
        "concurrency": concurrency,
        "requests": stats.sent,
        "ok": len(ok),
        "errors": stats.errors,
        "status": {str(k): v for k, v in sorted(stats.status.items())},
        "seconds": round(seconds, 3),
        "rps": len(ok) / seconds,
        "p50_ms": p50,
        "p90_ms": p90,
        "p99_ms": p99,
        "max_ms": max(ok, default=None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK, help="loopback only")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths", type=Path, required=True, help="file of request paths, one per line")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds sent but not counted first")
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--offset", type=int, default=0, help="where in the path list the first client starts")
    args = parser.parse_args(argv)
    paths = [line.strip() for line in args.paths.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not paths or args.concurrency < 1 or args.duration <= 0:
        parser.error("need at least one path, --concurrency >= 1 and --duration > 0")
    result = asyncio.run(
        run(args.host, args.port, paths, args.concurrency, args.duration, args.warmup, args.max_requests, args.offset)
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
