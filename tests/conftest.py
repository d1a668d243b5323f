"""Shared fixtures: a built index of the bundled corpus, an in-process client, a real server."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import anyio
import pytest
from starlette.testclient import TestClient

import bench.server
from bench.server import LiveServer, free_port, stop_server  # noqa: F401 (the tests import them from here)
from service.build.indexer import build_index
from service.index.embedding import Encoder, default_model_dir
from service.query.store import LoadedIndex, open_current
from service.settings import Settings
from service.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# The tests' own frozen copy of the articles: editors change corpus/, never these.
CORPUS = DATA / "corpus"
EDITORIAL_CORPUS = ROOT / "corpus"
T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    A deadline instead of a fixed sleep or a fixed number of tries: as fast as the system under
    test on a quiet machine, as patient as ``timeout`` on a busy one, and a failure that says what
    never happened (plus ``detail()``, e.g. the server's output) instead of a bare assert later.
    """
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:g} s waiting for {what}"
            raise AssertionError(message + (f"\n{detail()}" if detail else ""))
        time.sleep(interval)
    return value


async def wait_until_async(
    condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.01
) -> None:
    """``wait_until`` inside an event loop: yields to the tasks being waited for between checks."""
    try:
        with anyio.fail_after(timeout):
            while not condition():
                await anyio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from None


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The sentence-embedding model shipped with the package (the real one: no stand-in)."""
    return Encoder(default_model_dir())


@pytest.fixture(scope="session")
def bundled_index_dir(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """The test corpus, built once per test session, with passage vectors."""
    index_dir = tmp_path_factory.mktemp("bundled-index")
    build_index(CORPUS, index_dir, encoder=encoder)
    return index_dir


@pytest.fixture(scope="session")
def bundled_index(bundled_index_dir: Path, encoder: Encoder) -> LoadedIndex:
    """The test corpus as the server opens it: hybrid (lexical + semantic) search."""
    return open_current(bundled_index_dir, encoder)


@pytest.fixture(scope="session")
def lexical_index(bundled_index_dir: Path) -> LoadedIndex:
    """The same version opened without a model: the lexical half alone."""
    return open_current(bundled_index_dir)


def make_settings(index_dir: Path, **changes) -> Settings:
    return Settings.from_env({}, index_dir=index_dir, corpus_path=CORPUS, reload_interval=0.2, **changes)


@pytest.fixture()
def client(bundled_index_dir: Path) -> Iterator[TestClient]:
    """In-process client of an app of its own, lifespan run (the index is opened as in
    production): for tests that assert on per-app state (metrics counters, result cache, rate
    limiter, gaps log). A test that only reads answers uses ``shared_client``."""
    with TestClient(create_app(make_settings(bundled_index_dir)), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_client(bundled_index_dir: Path) -> Iterator[TestClient]:
    """One in-process app for all the tests of a module, with the settings ``client`` has.

    Opening an app loads the model and the index (~0.3 s, which ~200 tests paid each). Tests
    that only read answers share this one. Never use it to assert on per-app state (metrics
    counters, the rate limiter, the gaps log) or to change anything: other tests read it after.
    Its result cache is on, as in production, so a question an earlier test asked may be answered
    from a cached ranking; tests/test_cache.py shows that is the same answer.

    Module scope, not session: an open app keeps an event-loop thread and worker threads running,
    and other modules need a process without them (can_fork() in the build, the thread counts in
    test_progress and test_embedding, test_forked's forks)."""
    with TestClient(create_app(make_settings(bundled_index_dir)), raise_server_exceptions=False) as test_client:
        yield test_client


def start_server(
    index_dir: Path,
    tmp_path: Path,
    env: dict | None = None,
    workers: int = 1,
    corpus: Path = CORPUS,
    wait_ready: bool = True,
) -> LiveServer:
    """The shared launcher (bench.server) with the tests' defaults: the frozen test corpus and a
    fast reload interval, so a test that swaps the index sees it served within a second."""
    return bench.server.start_server(
        index_dir,
        tmp_path,
        workers=workers,
        corpus=corpus,
        wait_ready=wait_ready,
        env={"HEALTHFAQ_RELOAD_INTERVAL": "0.2", **(env or {})},
    )


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


def build_argv(corpus: Path, index_dir: Path, *extra: str) -> list[str]:
    """`healthfaq build` as a fresh process runs it (the CLI, its exit codes and messages)."""
    return [sys.executable, "-m", "service", "build", "--corpus", str(corpus), "--index", str(index_dir), *extra]
