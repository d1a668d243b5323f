"""The per-request JSON log of a real server: never the question unless the operator opts in,
uvicorn's own access log (which prints query strings) off, and the request id of every error
response findable in it."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import start_server, stop_server

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'

MARKER = "zebrastripequestion"


def _records(output: str) -> list[dict]:
    return [
        json.loads(line.split("healthfaq.access ", 1)[1])
        for line in output.splitlines()
        if "healthfaq.access {" in line
    ]


def test_questions_stay_out_of_the_log_by_default_and_error_ids_are_logged(tmp_path, bundled_index_dir):
    server = start_server(bundled_index_dir, tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            found = client.get("/search", params={"q": f"{MARKER} kegel exercises for leakage"})
            missing = client.get("/search", params={"q": MARKER, "limit": "0"})
            unknown = client.get(f"/articles/{MARKER}")
            page = client.get("/", params={"q": MARKER})
            suggest = client.get("/suggest", params={"q": MARKER})
    finally:
        stop_server(server)
    output = server.output()
    assert found.status_code == 200 and page.status_code == 200 and suggest.status_code == 200
    assert MARKER not in output  # not in our log lines, and no uvicorn access log either
    assert '"GET /search' not in output and 'HTTP/1.1" 200' not in output
    records = {r["request_id"]: r for r in _records(output)}
    for response in (missing, unknown):
        request_id = response.json()["error"]["request_id"]
        assert request_id == response.headers["x-request-id"]
        assert records[request_id]["status"] == response.status_code
    search = records[found.headers["x-request-id"]]
    assert search["route"] == "/search" and search["status"] == 200 and search["results"] >= 1
    assert search["latency_ms"] >= 0 and "query_string" not in search
    assert records[unknown.headers["x-request-id"]]["route"] == "/articles/{slug}"


def test_an_operator_may_opt_in_to_logging_questions(tmp_path, bundled_index_dir):
    server = start_server(bundled_index_dir, tmp_path, env={"HEALTHFAQ_LOG_QUERIES": "true"})
    try:
        response = httpx.get(server.url + "/search", params={"q": MARKER}, timeout=10)
    finally:
        stop_server(server)
    record = {r["request_id"]: r for r in _records(server.output())}[response.headers["x-request-id"]]
    assert MARKER in record["query_string"]
