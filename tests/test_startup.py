"""Start-up states: building a missing index, a bad corpus, corrupt versions, /readyz."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from service.build.indexer import build_index
from service.index.version import MANIFEST, current_version, list_versions, publish, version_path
from service.web.app import create_app
from service.web.metrics import Metrics
from service.web.reloading import IndexHolder
from tests.conftest import CORPUS, ROOT, free_port, make_settings, start_server, stop_server, wait_until
from tests.generated_corpus import write_generated_corpus

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'


def test_serve_without_an_index_builds_one_while_saying_starting(tmp_path):
    # ~190 passages embedded by the server's build child: seconds of "starting" to observe.
    corpus = write_generated_corpus(tmp_path / "corpus.jsonl", records=100)
    index_dir = tmp_path / "index"
    server = start_server(index_dir, tmp_path, corpus=corpus, wait_ready=False)
    try:
        seen: list[tuple[str, int]] = []

        def ready() -> bool:
            """One look at /healthz, /readyz and /search, recorded; True once the index is served."""
            health = httpx.get(server.url + "/healthz", timeout=10)
            ready = httpx.get(server.url + "/readyz", timeout=10)
            assert health.status_code == 200
            seen.append((health.json()["status"], ready.status_code))
            if ready.status_code == 200:
                return True
            assert ready.headers["retry-after"] and ready.json() == {"ready": False}
            search = httpx.get(server.url + "/search", params={"q": "pain"}, timeout=10)
            if search.status_code != 200:  # 200 only if the index loaded since /readyz answered
                assert search.status_code == 503 and search.json()["error"]["code"] == "index_not_ready"
            return False

        wait_until(
            ready,
            timeout=120,
            interval=0.1,
            what="the server to build its index and become ready",
            detail=server.output,
        )
        assert seen[0] == ("starting", 503), server.output()
        # /healthz is read just before /readyz, so the index may load in between: the last pair
        # can be ("starting", 200). Once ready, /healthz says ok.
        assert seen[-1][1] == 200, server.output()
        assert httpx.get(server.url + "/healthz", timeout=10).json()["status"] == "ok"
        assert all(state == ("starting", 503) for state in seen[:-1])
        assert current_version(index_dir) is not None
    finally:
        stop_server(server)


def test_serve_with_an_invalid_corpus_and_no_index_exits_with_a_clear_message(tmp_path):
    corpus = tmp_path / "corpus" / "articles"
    corpus.mkdir(parents=True)
    (corpus / "broken.md").write_text("---\nslug: broken\n---\nNo title here.\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--index",
            str(tmp_path / "index"),
            "--corpus",
            str(tmp_path / "corpus"),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 1
    assert "broken.md" in result.stderr and "title" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "index" / "CURRENT").exists()


def _corrupt(index_dir: Path, name: str) -> None:
    (version_path(index_dir, name) / MANIFEST).unlink()  # the error names the missing file's path


def _two_versions(tmp_path: Path, bundled_index_dir: Path) -> tuple[Path, str, str]:
    index_dir = tmp_path / "index"
    shutil.copytree(bundled_index_dir, index_dir)
    older = current_version(index_dir)
    build_index(CORPUS, index_dir)
    return index_dir, older, current_version(index_dir)


def test_a_corrupt_newest_version_falls_back_to_the_older_one_and_reports_degraded(tmp_path, bundled_index_dir):
    index_dir, older, newest = _two_versions(tmp_path, bundled_index_dir)
    _corrupt(index_dir, newest)
    with TestClient(create_app(make_settings(index_dir)), raise_server_exceptions=False) as client:
        health = client.get("/healthz").json()
        assert health["status"] == "degraded" and health["version"] == older
        assert newest in health["problem"]
        assert str(tmp_path) not in health["problem"]  # no internal path in a response
        assert client.get("/readyz").status_code == 200
        assert client.get("/search", params={"q": "kegel"}).status_code == 200

        build_index(CORPUS, index_dir)  # an editor fixes it by publishing a good version
        fixed = current_version(index_dir)
        wait_until(
            lambda: client.get("/healthz").json().get("version") == fixed,
            timeout=30,
            what="the fixed version to be served",
        )
        health = client.get("/healthz").json()
        assert (health["status"], health["version"]) == ("ok", fixed)
        assert "problem" not in health


def test_a_corrupt_version_published_while_serving_is_not_served(tmp_path, bundled_index_dir):
    index_dir, _, good = _two_versions(tmp_path, bundled_index_dir)
    with TestClient(create_app(make_settings(index_dir)), raise_server_exceptions=False) as client:
        assert client.get("/healthz").json()["version"] == good
        broken = "v99990101T000000000000"
        shutil.copytree(version_path(index_dir, good), version_path(index_dir, broken))
        (version_path(index_dir, broken) / "ranking.npz").write_bytes(b"truncated")
        publish(index_dir, broken)
        wait_until(
            lambda: client.get("/healthz").json()["status"] == "degraded",
            timeout=30,
            what="the corrupt version to be refused",
        )
        health = client.get("/healthz").json()
        assert (health["status"], health["version"]) == ("degraded", good)
        assert client.get("/search", params={"q": "kegel"}).status_code == 200


def test_only_a_corrupt_version_means_not_ready_with_a_clear_problem(tmp_path, bundled_index_dir):
    index_dir = tmp_path / "index"
    shutil.copytree(bundled_index_dir, index_dir)
    _corrupt(index_dir, current_version(index_dir))
    assert len(list_versions(index_dir)) == 1
    with TestClient(create_app(make_settings(index_dir)), raise_server_exceptions=False) as client:
        health = client.get("/healthz").json()
        assert health["status"] == "starting" and health["passages"] == 0
        assert health["problem"] == f"index version {current_version(index_dir)} cannot be opened; see the server log"
        assert client.get("/readyz").status_code == 503
        response = client.get("/search", params={"q": "kegel"})
        assert response.status_code == 503 and response.json()["error"]["code"] == "index_not_ready"


def test_a_corrupt_version_is_logged_once_and_counted_not_at_every_check(tmp_path, bundled_index_dir, caplog):
    index_dir, older, newest = _two_versions(tmp_path, bundled_index_dir)
    _corrupt(index_dir, newest)
    holder = IndexHolder(make_settings(index_dir))
    with caplog.at_level("ERROR", logger="healthfaq.index"):
        for _ in range(20):  # twenty reload checks, i.e. twenty seconds at the default interval
            holder.refresh()
    errors = [r for r in caplog.records if r.levelname == "ERROR" and newest in r.getMessage()]
    assert len(errors) == 1
    assert holder.open_failures == 1 and holder.status == "degraded" and holder.served.index.version == older
    samples = Metrics(holder).exposition().decode()
    assert "healthfaq_index_open_failures_total 1.0" in samples
    build_index(CORPUS, index_dir)  # a fix is a new version: it is opened at the next check
    assert holder.refresh() and holder.status == "ok"
