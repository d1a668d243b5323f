"""Reindex without downtime: rebuilds under load, pruning, killed and concurrent builds, workers."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from service.build.indexer import build_index
from service.index.version import KEEP_VERSIONS, current_version, list_versions, version_path
from service.query.search import SearchRequest, search
from service.web.reloading import IndexHolder
from tests.conftest import CORPUS, ROOT, build_argv, make_settings, start_server, stop_server, wait_until
from tests.generated_corpus import write_generated_corpus

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'


def _build_command(corpus: Path, index_dir: Path, procs: int = 1) -> list[str]:
    return build_argv(corpus, index_dir, "--procs", str(procs))


def _build(corpus: Path, index_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_build_command(corpus, index_dir), capture_output=True, text=True, cwd=ROOT, timeout=120)


def _processes_building(corpus: Path) -> list[int]:
    """Live processes whose command line builds ``corpus`` (a forked child keeps its parent's)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if b"build" in argv and str(corpus).encode() in argv and "zombie" not in state:
            found.append(int(proc.name))
    return found


def _served_version(server) -> str | None:
    return httpx.get(server.url + "/healthz", timeout=10).json().get("version")


class Hammer:
    """Threads sending searches until stopped (bounded in count), recording every outcome."""

    def __init__(self, url: str, threads: int = 4, max_requests: int = 3000) -> None:
        self.url, self.max_requests = url, max_requests
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> Hammer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, n: int) -> None:
        questions = ["belly button pain", "kegel exercises", "lost sense of smell after covid", "semen leakage"]
        with httpx.Client(base_url=self.url, timeout=10) as client:
            i = 0
            while not self._stop.is_set() and len(self.statuses) < self.max_requests:
                try:
                    self.statuses.append(client.get("/search", params={"q": questions[(n + i) % 4]}).status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                i += 1


@pytest.fixture()
def served_copy(tmp_path: Path, bundled_index_dir: Path) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(bundled_index_dir, index_dir)
    return index_dir


def test_rebuilds_under_load_never_fail_a_request_and_old_versions_are_pruned(tmp_path, served_copy):
    server = start_server(served_copy, tmp_path)
    try:
        with Hammer(server.url) as hammer:
            for _ in range(KEEP_VERSIONS + 1):
                result = _build(CORPUS, served_copy)
                assert result.returncode == 0, result.stderr
            newest = current_version(served_copy)
            wait_until(
                lambda: _served_version(server) == newest,
                timeout=30,
                what="the server to switch to the newest version",
                detail=server.output,
            )
            wait_until(lambda: len(hammer.statuses) > 200, timeout=30, what="200 requests after the switch")
        assert hammer.errors == []
        assert set(hammer.statuses) == {200}, server.output()
        versions = list_versions(served_copy)
        assert len(versions) == KEEP_VERSIONS and versions[-1] == newest
        assert not list((served_copy / "versions").glob(".draft-*"))
    finally:
        stop_server(server)


def test_a_request_in_flight_keeps_its_index_even_when_that_version_is_pruned(tmp_path, served_copy):
    holder = IndexHolder(make_settings(served_copy))
    holder.refresh()
    in_flight = holder.served
    old = in_flight.index.version
    for _ in range(KEEP_VERSIONS):
        build_index(CORPUS, served_copy)
    assert holder.refresh() is True and holder.served.index.version != old
    assert not version_path(served_copy, old).exists()  # pruned from disk
    results = search(in_flight.index, SearchRequest(q="kegel exercises"))
    assert results.hits and results.hits[0].passage.text  # everything it needs is in memory


@pytest.mark.parametrize("procs", [1, 2])
def test_killed_and_concurrent_builds_leave_serving_untouched_and_no_stuck_lock(tmp_path, served_copy, procs):
    big = write_generated_corpus(tmp_path / "big.jsonl", records=1500)
    server = start_server(served_copy, tmp_path)
    served_version = current_version(served_copy)
    first = subprocess.Popen(
        _build_command(big, served_copy, procs), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_until(
            lambda: list((served_copy / "versions").glob(".draft-*")), timeout=60, what="the first build's draft"
        )

        second = _build(CORPUS, served_copy)  # while the first one holds the lock
        assert second.returncode == 75
        assert f"another build of {served_copy} is running (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr and "LockError" not in second.stderr

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        # nothing of it keeps running: with procs=2 its forked segment writer dies with it
        wait_until(lambda: not _processes_building(big), timeout=10, what="the killed build's processes to end")
        assert current_version(served_copy) == served_version
        health = httpx.get(server.url + "/healthz", timeout=10).json()
        assert (health["status"], health["version"]) == ("ok", served_version)
        assert httpx.get(server.url + "/search", params={"q": "kegel"}, timeout=10).status_code == 200

        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"id": "x", "title": "No text"}\n')
        failed = _build(bad, served_copy)
        assert failed.returncode == 1 and "bad.jsonl:1" in failed.stderr and "not changed" in failed.stderr
        assert current_version(served_copy) == served_version

        third = _build(CORPUS, served_copy)  # the kernel dropped the dead build's lock
        assert third.returncode == 0, third.stderr
        assert not list((served_copy / "versions").glob(".draft-*"))  # its draft was cleared
        newest = current_version(served_copy)
        assert newest != served_version
        wait_until(
            lambda: _served_version(server) == newest, timeout=30, what="the server to switch", detail=server.output
        )
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        stop_server(server)


def test_every_worker_switches_to_the_new_version(tmp_path, served_copy):
    server = start_server(served_copy, tmp_path, workers=2)
    try:
        result = _build(CORPUS, served_copy)
        assert result.returncode == 0, result.stderr
        newest = current_version(served_copy)

        def all_workers_switched() -> bool:
            return server.output().count(f"serving index version {newest}") == 2

        wait_until(all_workers_switched, timeout=30, what="both workers to load the new version", detail=server.output)
        # Fresh connections are spread over both workers; none may answer from the old version.
        versions = {httpx.get(server.url + "/healthz", timeout=10).json()["version"] for _ in range(40)}
        assert versions == {newest}
    finally:
        stop_server(server)
