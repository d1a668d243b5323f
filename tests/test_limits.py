"""Protection under load: the concurrency cap, the optional rate limit, graceful shutdown."""
from __future__ import annotations

import json
import signal
import socket
import time

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from service.indexer import build_index
from service.limits import LoadLimitMiddleware, TokenBuckets
from service.middleware import RequestContextMiddleware
from tests.conftest import start_server, stop_server

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'


def _gated_app(gate: anyio.Event, started: list[str], max_concurrency: int) -> LoadLimitMiddleware:
    """A real ASGI app whose /slow requests stay in flight until the test opens the gate."""
    async def slow(request):
        started.append(request.url.path)
        await gate.wait()
        return PlainTextResponse("done")

    async def fast(request):
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/slow", slow), Route("/healthz", fast)])
    return RequestContextMiddleware(LoadLimitMiddleware(inner, max_concurrency=max_concurrency))


def test_requests_past_the_concurrency_cap_get_503_json_with_retry_after():
    async def scenario():
        gate, started = anyio.Event(), []
        app = _gated_app(gate, started, max_concurrency=2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers: dict[str, httpx.Response] = {}

            async def call(name: str, path: str) -> None:
                answers[name] = await client.get(path)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call, "a", "/slow")
                tasks.start_soon(call, "b", "/slow")
                with anyio.fail_after(10):
                    while len(started) < 2:
                        await anyio.sleep(0.01)
                await call("refused", "/slow")
                await call("probe", "/healthz")  # probes are never limited
                gate.set()
            await call("after", "/slow")  # the slots were given back
        return answers

    answers = anyio.run(scenario)
    refused = answers["refused"]
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    body = refused.json()
    assert body["error"]["code"] == "overloaded"
    assert body["error"]["request_id"] == refused.headers["x-request-id"]
    assert [answers[k].status_code for k in ("a", "b", "probe", "after")] == [200, 200, 200, 200]


def test_token_bucket_allows_a_minute_of_burst_then_says_how_long_to_wait():
    buckets = TokenBuckets(per_minute=3)
    assert [buckets.take("1.2.3.4", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("1.2.3.4", now=100.0) == pytest.approx(20.0)  # one token every 20 s
    assert buckets.take("5.6.7.8", now=100.0) == 0.0  # other clients have their own bucket
    assert buckets.take("1.2.3.4", now=121.0) == 0.0


def test_token_buckets_forget_old_clients_so_memory_stays_bounded():
    buckets = TokenBuckets(per_minute=10, max_clients=100)
    for n in range(5000):
        buckets.take(f"10.0.{n // 256}.{n % 256}", now=float(n))
    assert len(buckets) == 100


def test_rate_limit_is_off_by_default_and_429_when_configured(tmp_path, bundled_index_dir):
    server = start_server(bundled_index_dir, tmp_path)
    try:
        statuses = {httpx.get(server.url + "/search", params={"q": f"pain {n}"}, timeout=10).status_code
                    for n in range(30)}
        assert statuses == {200}, server.output()
    finally:
        stop_server(server)

    server = start_server(bundled_index_dir, tmp_path, env={"HEALTHFAQ_RATE_LIMIT_PER_MINUTE": "5"})
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            allowed = [client.get("/search", params={"q": "kegel"}).status_code for _ in range(5)]
            limited = client.get("/search", params={"q": "kegel"})
            probe = client.get("/healthz")
        assert allowed == [200] * 5
        assert limited.status_code == 429, server.output()
        assert 1 <= int(limited.headers["retry-after"]) <= 12  # one token every 12 s
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.json()["error"]["request_id"] == limited.headers["x-request-id"]
        assert probe.status_code == 200
    finally:
        stop_server(server)


@pytest.fixture()
def huge_article_index(tmp_path):
    """An index whose one article page is ~7 MB: more than loopback socket buffers hold, so
    the server is still sending it while the client reads slowly."""
    words = ["pneumonoultramicroscopicsilicovolcanoconiosis", "supercalifragilisticexpialidocious",
             "hippopotomonstrosesquippedaliophobia", "floccinaucinihilipilification"]
    text = " ".join(words[(n * 7) % 4] for n in range(200_000))
    corpus = tmp_path / "huge.jsonl"
    corpus.write_text(json.dumps({"id": "huge", "title": "Huge article", "text": text}) + "\n")
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir)
    return index_dir, corpus


def test_sigterm_lets_the_response_in_flight_finish(tmp_path, huge_article_index):
    index_dir, corpus = huge_article_index
    server = start_server(index_dir, tmp_path, corpus=corpus)
    host, port = server.url.rsplit("/", 1)[1].split(":")
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow, small-windowed reader
        sock.connect((host, int(port)))
        sock.settimeout(20)
        sock.sendall(b"GET /articles/huge HTTP/1.1\r\nHost: healthfaq\r\n\r\n")
        assert sock.recv(12) == b"HTTP/1.1 200"  # the response has started
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "Waiting for connections to close" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Waiting for connections to close" in server.output(), server.output()
        assert server.process.poll() is None  # still delivering the page
        data = b"HTTP/1.1 200"
        while chunk := sock.recv(1 << 20):
            data += chunk
    finally:
        sock.close()
        returncode = server.process.wait(timeout=20)
        stop_server(server)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    assert len(body) == length > 5_000_000
    assert body.rstrip().endswith(b"</html>")
    assert returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
    assert "Finished server process" in server.output()
