"""Hostile input, catalogued: whatever a client sends gets a JSON 4xx or a normal answer.

Each entry is sent through the in-process client (lifespan run) and, where the HTTP parser is
the point, as raw bytes to a real uvicorn, which must answer 4xx or close, never 5xx or hang.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from service.web.app import create_app
from tests.conftest import ROOT, make_settings

WHOOSH_SYNTAX = [
    "title:pain",
    "text:",
    "field:value",
    "*",
    "pain*",
    "?",
    "bel?y",
    "~",
    "pain~2",
    "^",
    "pain^5",
    "[a TO z]",
    "{a TO z}",
    "(pain",
    "pain)",
    '"unclosed',
    '"belly button"',
    "AND",
    "OR",
    "NOT",
    "TO",
    "pain AND NOT",
    "NOT NOT NOT",
    "a:b:c:d",
    "\\",
    "/regex/",
    "<>",
    "pain OR OR",
    "&&",
    "||",
    "-pain",
    "+pain",
    "!pain",
    "'",
    "`",
    "$",
    "%",
    "%%",
    "%s%s%n",
]
ODD_TEXT = [
    "\x00",
    "pain\x00kegel",
    "\x01\x02\x1b[31m\x7f",
    "\r\n\r\nSet-Cookie: x=1",
    "\u202eniap\u202c",
    "\u200f\u200e\u2066pain\u2069",
    "pa\u0301in",
    "e\u0301\u0302\u0303\u0304" * 50,
    "😷🤒🦠 pain",
    "👨‍👩‍👧‍👦",
    "\ufeffpain",
    "\ud7ff",
    "ﬁ ß İ ǅ",
    "١٢٣ ٤٥",
    "日本語の質問",
    "\u3000\u3000",
    "\t\v\f",
]


def _assert_clean_error(response: httpx.Response, status: int | None = None) -> dict:
    """One JSON error shape, a request id matching the header, and nothing internal."""
    if status is not None:
        assert response.status_code == status, response.text
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    _assert_nothing_internal(response.text)
    return error


def _assert_nothing_internal(text: str) -> None:
    for leak in ("Traceback", 'File "', str(ROOT), "/tmp/", "site-packages", "Exception"):
        assert leak not in text


@pytest.mark.parametrize("q", WHOOSH_SYNTAX + ODD_TEXT)
def test_query_syntax_and_odd_characters_are_just_text(shared_client, q):
    response = shared_client.get("/search", params={"q": q})
    if not q.strip():
        _assert_clean_error(response, 400)
        return
    assert response.status_code == 200, response.text
    assert response.json()["query"] == q


def test_length_limits(shared_client):
    _assert_clean_error(shared_client.get("/search", params={"q": "x" * 10_000}), 400)
    thousand_words = " ".join(["pain", "belly", "kegel", "smell", "leak"] * 200)
    assert shared_client.get("/search", params={"q": thousand_words}).json()["error"]["code"] == "query_too_long"
    short_words = " ".join("abcdefghij"[n % 10] for n in range(1000))  # 1,000 words in 1,999 characters
    assert shared_client.get("/search", params={"q": short_words}).status_code == 200
    assert shared_client.get("/suggest", params={"q": "x" * 10_000}).status_code == 400


@pytest.mark.parametrize(
    "query_string",
    [
        "q=%ff%fe",
        "q=%ff%fe%fd%80",
        "q=pain%c3",
        "q=%e2%82",
        "q=%",
        "q=%%",
        "q=%zz",
        "q=%00",
        "q=pain%0d%0aX-Injected:%201",
        "q=a&q=b",
        "q=pain&q=",
        "q=pain&limit=1&limit=2",
        "q=pain&unknown=1&utm_source=x&=&&&",
        "q=pain&q[]=x",
        "q[]=pain&q=kegel",
        "q=pain;limit=3",
        "q=+++pain+++",
        "q=pain&prefix=true&prefix=false",
    ],
)
def test_encodings_repeats_and_unknown_parameters_get_an_answer(shared_client, query_string):
    response = shared_client.get("/search?" + query_string)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        _assert_clean_error(response)
    else:
        assert "x-injected" not in response.headers


@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999999",
        "-1",
        "-99999999",
        "abc",
        "1.5",
        "1e3",
        "0x10",
        "٣",
        "NaN",
        "Infinity",
        "１０",
        "10 10",
        "500",
        "2147483648",
        "-0x1",
    ],
)
def test_bad_limit_and_offset_are_400(shared_client, name, value):
    error = _assert_clean_error(shared_client.get("/search", params={"q": "pain", name: value}), 400)
    assert error["code"] == "invalid_parameter"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize(
    "path", ["/search", "/suggest", "/", "/healthz", "/metrics", "/articles/semen-leakage", "/static/site.css"]
)
def test_other_methods_are_405_json(shared_client, method, path):
    response = shared_client.request(method, path, content=b"x" * 1000)
    error = _assert_clean_error(response, 405)
    assert error["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../service/app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/....//....//pyproject.toml",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/..\\..\\pyproject.toml",
        "/static/%00",
        "/static/site.css%00.py",
        "/articles/..%2f..%2fetc%2fpasswd",
        "/articles/%2e%2e",
        "/static/../../../../../../etc/passwd",
    ],
)
def test_path_traversal_reaches_no_file_outside_static(shared_client, path):
    response = shared_client.get(path)
    assert response.status_code in (400, 404), response.text
    _assert_clean_error(response)
    assert "import" not in response.text and "root:" not in response.text and "[project]" not in response.text


def test_unknown_article_filter_and_page_are_404_json(shared_client):
    assert _assert_clean_error(shared_client.get("/search", params={"q": "pain", "article": "../../etc"}), 404)
    assert _assert_clean_error(shared_client.get("/articles/<script>"), 404)


def test_an_unexpected_failure_is_a_bare_500_json(bundled_index_dir):
    """No traceback, exception text or path reaches the client, only the request id to quote."""
    from starlette.testclient import TestClient

    app = create_app(make_settings(bundled_index_dir))

    async def fails(request):
        raise RuntimeError(f"secret detail from {Path(__file__)}")

    app.router.routes.append(Route("/fails", fails))  # a stand-in for a bug in any endpoint
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/fails")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
    assert "secret detail" not in response.text
    _assert_nothing_internal(response.text)


# --- raw bytes to a real uvicorn -------------------------------------------------------------

RAW_REQUESTS = {
    "garbage": b"GARBAGE\r\n\r\n",
    "binary": bytes(range(256)) + b"\r\n\r\n",
    "tls hello": bytes.fromhex("16030100a5010000a10303") + b"\x00" * 64,
    "http2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "space in target": b"GET /search?q=belly button HTTP/1.1\r\nHost: x\r\n\r\n",
    "nul in target": b"GET /search?q=a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw utf-8 and invalid bytes in target": b"GET /search?q=\xc3\xa9\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad version": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    "no host": b"GET /healthz HTTP/1.1\r\n\r\n",
    "bad header line": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "nul in header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "oversized header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    "many headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-H: 1\r\n" * 5000 + b"\r\n",
    "huge target": b"GET /search?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "negative length": b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "two lengths": b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "bad chunk": b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
    "smuggling": b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\n",
    "lf only": b"GET /healthz HTTP/1.1\nHost: x\n\n",
    "absolute form": b"GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "connect": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n",
    "trace": b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n",
}


def _raw_exchange(url: str, payload: bytes) -> bytes:
    host, port = url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close on the first bad bytes
        received = b""
        try:
            while chunk := sock.recv(65536):  # a hang would end in socket.timeout and fail the test
                received += chunk
        except ConnectionResetError:
            pass
        return received


@pytest.mark.slow
def test_malformed_requests_to_a_real_server_are_never_5xx_or_hang(live_server):
    outcomes = {}
    for name, payload in RAW_REQUESTS.items():
        received = _raw_exchange(live_server.url, payload)
        status_line = received.split(b"\r\n", 1)[0]
        outcomes[name] = status_line.decode("latin-1")
        if received:
            assert status_line.startswith(b"HTTP/1.1 "), (name, received[:200])
            status = int(status_line.split()[1])
            assert status < 500, (name, received[:500], live_server.output())
            _assert_nothing_internal(received.decode("latin-1"))
    for rejected in ("garbage", "space in target", "nul in header", "oversized header", "huge target", "bad chunk"):
        assert outcomes[rejected] == "HTTP/1.1 400 Bad Request", (rejected, outcomes[rejected])
    # The server is unharmed, and no endpoint failed. The only failure uvicorn's h11 protocol may
    # log is its own race: it answers 400 to bad bytes after a request, then refuses the app's
    # late response to that request with LocalProtocolError (the client already has its 400).
    assert httpx.get(live_server.url + "/search", params={"q": "kegel"}, timeout=10).status_code == 200
    failures = re.findall(r"healthfaq.error request \w+ failed: (\w+)", live_server.output())
    assert set(failures) <= {"LocalProtocolError"}, live_server.output()


@pytest.mark.slow
def test_a_client_that_stops_half_way_does_not_affect_others(live_server):
    host, port = live_server.url.rsplit("/", 1)[1].split(":")
    for partial in (b"GET /search?q=pa", b"GET /search?q=pain HTTP/1.1\r\nHost: x\r\nX-A: ", b"G"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(partial)
    assert httpx.get(live_server.url + "/search", params={"q": "kegel"}, timeout=10).status_code == 200
