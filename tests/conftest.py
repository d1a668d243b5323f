"""Shared fixtures: a built index of the bundled corpus, an in-process client, a real server."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.indexer import build_index
from service.settings import Settings
from service.store import LoadedIndex, open_current

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# The tests' own frozen copy of the articles: editors change corpus/, never these.
CORPUS = DATA / "corpus"
EDITORIAL_CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def bundled_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test corpus, built once per test session."""
    index_dir = tmp_path_factory.mktemp("bundled-index")
    build_index(CORPUS, index_dir)
    return index_dir


@pytest.fixture(scope="session")
def bundled_index(bundled_index_dir: Path) -> LoadedIndex:
    return open_current(bundled_index_dir)


def make_settings(index_dir: Path, **changes) -> Settings:
    return Settings.from_env({}, index_dir=index_dir, corpus_path=CORPUS, reload_interval=0.2, **changes)


@pytest.fixture()
def client(bundled_index_dir: Path) -> Iterator[TestClient]:
    """In-process client with the lifespan run (the index is opened as in production)."""
    with TestClient(create_app(make_settings(bundled_index_dir)), raise_server_exceptions=False) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(index_dir: Path, tmp_path: Path, env: dict | None = None, workers: int = 1,
                 corpus: Path = CORPUS, wait_ready: bool = True) -> LiveServer:
    """A real uvicorn on a free loopback port, via the `healthfaq serve` command."""
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    full_env = {**os.environ, "HEALTHFAQ_RELOAD_INTERVAL": "0.2", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--index", str(index_dir), "--corpus", str(corpus),
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        stdout=log_path.open("w"), stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()}")
        try:
            response = httpx.get(server.url + ("/readyz" if wait_ready else "/healthz"), timeout=1)
            if response.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server did not become ready:\n{server.output()}")


def stop_server(server: LiveServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture()
def live_server(tmp_path: Path, bundled_index_dir: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A real server on a private copy of the bundled index (tests may rebuild it)."""
    index_dir = tmp_path / "index"
    shutil.copytree(bundled_index_dir, index_dir)
    server = start_server(index_dir, tmp_path)
    yield server
    stop_server(server)
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(server.output())


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
