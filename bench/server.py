"""A real `healthfaq serve` on a free loopback port.

The one launcher that the tests, the benchmark and scripts/soak.py share: each of them exercises
the server as it is deployed (its own process, its own uvicorn workers), waits for it the same
way and stops it the same way.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import ROOT


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's pick; another process may still take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen
    log_path: Path
    ready_seconds: float = 0.0  # from the start of the process to its first 200 on the ready path

    def output(self) -> str:
        """Everything the server printed: what a failing test or benchmark shows."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(
    index_dir: Path,
    log_dir: Path,
    *,
    workers: int = 1,
    corpus: Path | None = None,
    env: dict[str, str] | None = None,
    wait_ready: bool = True,
    timeout: float = 60.0,
) -> LiveServer:
    """Start the server and return once /readyz answers 200 (with ``wait_ready=False``, /healthz:
    the index may still be loading). ``env`` is added to this process's environment. Raises
    RuntimeError with the server's output when it exits or does not answer within ``timeout``."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "service",
        "serve",
        "--index",
        str(index_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if corpus is not None:
        command += ["--corpus", str(corpus)]
    started = time.perf_counter()
    with log_path.open("w") as log:
        # A session of its own, so stop_server can kill the workers along with their supervisor.
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
            start_new_session=True,
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", port=port, process=process, log_path=log_path)
    try:
        _wait_for_200(server, "/readyz" if wait_ready else "/healthz", timeout)
    except RuntimeError:
        stop_server(server)
        raise
    return dataclasses.replace(server, ready_seconds=time.perf_counter() - started)


def stop_server(server: LiveServer, timeout: float = 30.0) -> None:
    """SIGTERM (uvicorn lets requests in flight finish), then SIGKILL to the whole session if it hangs."""
    if server.process.poll() is None:
        server.process.terminate()
    try:
        server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


def _wait_for_200(server: LiveServer, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.output()}")
            try:
                if client.get(server.url + path).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {path} within {timeout:.0f} s:\n{server.output()}")
