"""Protection under load: the concurrency cap, the optional rate limit, graceful shutdown."""

from __future__ import annotations

import json
import signal
import socket

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from service.build.indexer import build_index
from service.web.limits import LoadLimitMiddleware, TokenBuckets
from service.web.middleware import RequestContextMiddleware
from tests.conftest import start_server, stop_server, wait_until, wait_until_async
from tests.generated_corpus import write_generated_corpus

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'


def _gated_app(gate: anyio.Event, started: list[str], max_concurrency: int, per_client: int = 0) -> LoadLimitMiddleware:
    """A real ASGI app whose /slow requests stay in flight until the test opens the gate."""

    async def slow(request):
        started.append(request.url.path)
        await gate.wait()
        return PlainTextResponse("done")

    async def fast(request):
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/slow", slow), Route("/healthz", fast)])
    return RequestContextMiddleware(
        LoadLimitMiddleware(inner, max_concurrency=max_concurrency, max_concurrency_per_client=per_client)
    )


def test_requests_past_the_concurrency_cap_get_503_json_with_retry_after():
    async def scenario():
        gate, started = anyio.Event(), []
        app = _gated_app(gate, started, max_concurrency=2, per_client=2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers: dict[str, httpx.Response] = {}

            async def call(name: str, path: str) -> None:
                answers[name] = await client.get(path)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call, "a", "/slow")
                tasks.start_soon(call, "b", "/slow")
                await wait_until_async(lambda: len(started) >= 2, timeout=10, what="both requests to be in flight")
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


def test_one_address_may_hold_only_its_share_of_the_cap():
    async def scenario():
        gate, started = anyio.Event(), []
        app = _gated_app(gate, started, max_concurrency=8)  # a quarter each: 2
        noisy = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.0.0.1", 1000)), base_url="http://test"
        )
        quiet = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.0.0.2", 1000)), base_url="http://test"
        )
        answers: dict[str, list[httpx.Response]] = {"noisy": [], "quiet": []}

        async def call(name: str, client: httpx.AsyncClient) -> None:
            answers[name].append(await client.get("/slow"))

        async with noisy, quiet, anyio.create_task_group() as tasks:
            for _ in range(2):
                tasks.start_soon(call, "noisy", noisy)
            await wait_until_async(lambda: len(started) >= 2, timeout=10, what="the noisy address's two requests")
            await call("noisy", noisy)  # a third at once from the same address: refused
            tasks.start_soon(call, "quiet", quiet)  # another address still gets in
            await wait_until_async(lambda: len(started) >= 3, timeout=10, what="the quiet address's request")
            gate.set()
        return answers, app.app

    answers, limiter = anyio.run(scenario)
    refused = [r for r in answers["noisy"] if r.status_code == 503]
    assert len(refused) == 1 and sorted(r.status_code for r in answers["noisy"]) == [200, 200, 503]
    assert refused[0].json()["error"]["code"] == "overloaded"
    assert refused[0].json()["error"]["message"] == "too many requests from this address at once; try again shortly"
    assert refused[0].headers["retry-after"] == "1"
    assert [r.status_code for r in answers["quiet"]] == [200]
    assert limiter.in_flight == 0 and limiter.in_flight_by_client == {}  # nothing kept once answered


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
        statuses = {
            httpx.get(server.url + "/search", params={"q": f"pain {n}"}, timeout=10).status_code for n in range(30)
        }
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


def test_the_rate_limit_counts_questions_not_pages_or_static_files(bundled_index_dir):
    """Item 10: CSS, JS, article pages and the empty search page never use up a visitor's searches."""
    from starlette.testclient import TestClient

    from service.web.app import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(bundled_index_dir, rate_limit_per_minute=3))) as client:
        chrome = ["/", "/static/site.css", "/static/search.js", "/articles/semen-leakage", "/openapi.json"] * 10
        assert {client.get(path).status_code for path in chrome} == {200}
        questions = [
            client.get("/search", params={"q": "kegel"}),
            client.get("/suggest", params={"q": "bel"}),
            client.get("/", params={"q": "belly button"}),
            client.get("/search", params={"q": "kegel"}),
        ]
        assert [r.status_code for r in questions] == [200, 200, 200, 429]
        page = client.get("/", params={"q": "semen"})
        assert page.status_code == 429 and page.json()["error"]["code"] == "rate_limited"
        assert client.get("/static/site.css").status_code == 200  # the page still gets its stylesheet
        assert client.get("/", params={"q": "  "}).status_code == 200  # a blank question is no search
        metrics = client.get("/metrics").text
    # Item 11: refusals are labelled with the route they were refused on.
    assert 'healthfaq_requests_total{method="GET",route="/search",status="429"} 1.0' in metrics
    assert 'healthfaq_requests_total{method="GET",route="/",status="429"} 1.0' in metrics
    assert 'route="unmatched"' not in metrics


def test_a_refused_request_is_logged_with_its_route(bundled_index_dir, caplog):
    from starlette.testclient import TestClient

    from service.web.app import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(bundled_index_dir, rate_limit_per_minute=1))) as client:
        client.get("/suggest", params={"q": "bel"})
        with caplog.at_level("INFO", logger="healthfaq.access"):
            refused = client.get("/suggest", params={"q": "bel"})
            wrong_method = client.post("/suggest", params={"q": "bel"})
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "healthfaq.access"]
    by_id = {r["request_id"]: r for r in records}
    assert refused.status_code == 429
    assert by_id[refused.headers["x-request-id"]]["route"] == "/suggest"
    assert by_id[wrong_method.headers["x-request-id"]]["route"] == "/suggest"  # 405 (or 429): still its route


@pytest.fixture()
def huge_article_index(tmp_path):
    """An index whose one article page is ~7 MB: more than loopback socket buffers hold, so
    the server is still sending it while the client reads slowly."""
    words = [
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "supercalifragilisticexpialidocious",
        "hippopotomonstrosesquippedaliophobia",
        "floccinaucinihilipilification",
    ]
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
        wait_until(
            lambda: "Waiting for connections to close" in server.output(),
            timeout=10,
            what="uvicorn to wait for the response in flight",
            detail=server.output,
        )
        assert server.process.poll() is None  # still delivering the page
        data = b"HTTP/1.1 200"
        while chunk := sock.recv(1 << 20):
            data += chunk
    finally:
        sock.close()
        returncode = server.process.wait(timeout=20)
        stop_server(server)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    assert len(body) == length > 5_000_000
    assert body.rstrip().endswith(b"</html>")
    assert returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
    assert "Finished server process" in server.output()


def test_a_burst_from_one_address_does_not_fail_another_clients_searches(tmp_path):
    """A real server; a bounded burst from 127.0.0.2 while a visitor on 127.0.0.1 searches.

    Two addresses are two real TCP clients: on Linux all of 127.0.0.0/8 is loopback, so binding
    the client socket to 127.0.0.2 gives the server another peer address, with no proxy header to
    trust (which would test --forwarded-allow-ips rather than the limiter). The burst sends long
    pasted questions (worker threads, ~10 ms each on a generated corpus of 600 articles) over 100
    connections, so its requests pile up in flight. With a cap of 4, a quarter each, the burst
    holds at most 1 slot and the visitor's one request always fits. (With the whole cap open to
    one address, the visitor was refused 2-7 times in 40 in each of three runs.)
    """
    corpus = write_generated_corpus(tmp_path / "corpus.jsonl", records=600)
    build_index(corpus, tmp_path / "index")
    # A long keep-alive: under load a pooled connection idle past the default 5 s can be closed by
    # the server just as the client reuses it, which is not what this test is about.
    server = start_server(
        tmp_path / "index",
        tmp_path,
        corpus=corpus,
        env={"HEALTHFAQ_MAX_CONCURRENCY": "4", "HEALTHFAQ_KEEP_ALIVE_TIMEOUT": "60"},
    )
    words = "pain belly button semen leakage kegel smell covid anxiety dizziness blood clot gland swollen".split()
    noisy: list[httpx.Response] = []
    visitor: list[int] = []

    async def burst(done: anyio.Event) -> None:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2", limits=httpx.Limits(max_connections=100))
        async with httpx.AsyncClient(transport=transport, base_url=server.url, timeout=60) as client:

            async def connection(n: int) -> None:
                while not done.is_set() and len(noisy) < 5000:  # bounded, whatever happens
                    question = " ".join(words[(n + k) % len(words)] for k in range(200)) + f" {len(noisy)}"
                    noisy.append(await client.get("/search", params={"q": question}))

            async with anyio.create_task_group() as tasks:
                for n in range(100):
                    tasks.start_soon(connection, n)

    async def visit(done: anyio.Event) -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            await wait_until_async(
                lambda: any(r.status_code == 503 for r in noisy),
                timeout=120,
                what="the burst to fill its share of the cap",
            )
            for n in range(40):
                visitor.append((await client.get("/search", params={"q": f"belly button {n}"})).status_code)
        done.set()

    async def scenario() -> None:
        done = anyio.Event()
        with anyio.fail_after(240):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(burst, done)
                tasks.start_soon(visit, done)

    try:
        anyio.run(scenario)
        metrics = httpx.get(server.url + "/metrics", timeout=10).text
    finally:
        stop_server(server)
    assert visitor == [200] * 40, (visitor, server.output()[-2000:])
    statuses = [r.status_code for r in noisy]
    assert set(statuses) == {200, 503}  # the burst was shed, not starved
    assert {r.json()["error"]["message"] for r in noisy if r.status_code == 503} == {
        "too many requests from this address at once; try again shortly"
    }
    # Refusals are counted on the route they were refused on, never as "unmatched".
    assert f'healthfaq_requests_total{{method="GET",route="/search",status="503"}} {statuses.count(503)}.0' in metrics
    assert 'route="unmatched"' not in metrics


def test_the_keep_alive_timeout_setting_reaches_uvicorn():
    import uvicorn

    from service.cli import uvicorn_options
    from service.settings import Settings

    assert Settings.from_env({}).keep_alive_timeout == 5
    settings = Settings.from_env({"HEALTHFAQ_KEEP_ALIVE_TIMEOUT": "2"})
    config = uvicorn.Config("service.app:create_app", **uvicorn_options(settings))
    assert config.timeout_keep_alive == 2


def test_an_idle_keep_alive_connection_is_closed_by_the_server(tmp_path, bundled_index_dir):
    """Item 12: HEALTHFAQ_KEEP_ALIVE_TIMEOUT reaches uvicorn. (A connection that never finishes
    its headers is not timed out by uvicorn: that is the reverse proxy's job, see the README.)"""
    server = start_server(bundled_index_dir, tmp_path, env={"HEALTHFAQ_KEEP_ALIVE_TIMEOUT": "1"})
    host, port = server.url.rsplit("/", 1)[1].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: healthfaq\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" not in answer.lower()
            # Now idle: the server hangs up (recv returns b"") long before the 20 s socket timeout.
            assert sock.recv(65536) == b""
    finally:
        stop_server(server)
