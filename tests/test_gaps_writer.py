"""The content-gaps log is written off the event loop: a stuck disk delays no request.

The log file here is a named pipe with no reader, so opening it for writing blocks until the test
reads it: the stand-in for a hung network mount. Were the write done on the event loop, the
zero-result search itself (and every request after it) would hang.
"""

from __future__ import annotations

import os
import threading

import httpx
import pytest

from service.web.gaps import MAX_PENDING, GapsLog
from tests.conftest import start_server, stop_server, wait_until

pytestmark = pytest.mark.slow  # a real server


def test_a_stuck_gaps_log_blocks_no_request(tmp_path, bundled_index_dir):
    pipe = tmp_path / "gaps.jsonl"
    os.mkfifo(pipe)
    server = start_server(bundled_index_dir, tmp_path, env={"HEALTHFAQ_GAPS_FILE": str(pipe)})
    try:
        nothing = httpx.get(server.url + "/search", params={"q": "quantum chromodynamics homework"}, timeout=10)
        assert nothing.status_code == 200 and nothing.json()["total"] == 0
        # The writer thread is now blocked opening the pipe; the server answers regardless.
        assert httpx.get(server.url + "/healthz", timeout=10).json()["status"] == "ok"
        found = httpx.get(server.url + "/search", params={"q": "blood clot"}, timeout=10)
        assert found.status_code == 200 and found.json()["total"] > 0
        with open(pipe, "rb") as reader:  # the disk comes back: the queued question is written
            line = reader.readline()
        assert b"quantum chromodynamics homework" in line
    finally:
        stop_server(server)


def test_a_stuck_gaps_log_holds_the_shutdown_a_bounded_time(tmp_path):
    pipe = tmp_path / "gaps.jsonl"
    os.mkfifo(pipe)
    log = GapsLog(pipe)
    log.record_later("quantum chromodynamics homework")  # the writer blocks opening the pipe
    for n in range(MAX_PENDING + 50):  # more than can wait: the rest are dropped, not queued
        log.record_later(f"question {n}")
    closing = threading.Thread(target=log.close, kwargs={"timeout": 0.2}, daemon=True)
    closing.start()
    closing.join(timeout=30)
    assert not closing.is_alive()  # close gave up on the stuck disk instead of waiting for ever
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # the disk comes back
    try:
        first = wait_until(lambda: _read_some(reader), timeout=10, what="the queued question written")
    finally:
        os.close(reader)
    assert b"quantum chromodynamics homework" in first


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except BlockingIOError:  # nothing written yet
        return b""
