"""Safe by construction: corpus text full of markup and javascript: links never runs or renders.

Two hostile corpora are indexed: a Markdown article (title, heading, text and publisher URL carry
<script>, <img onerror> and javascript: links) and a JSONL record full of markup; a `javascript:`
URL is refused by the build.
They are checked through the API, the HTML pages and a real browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import PageErrors, confine, launch
from conftest import make_settings, start_server, stop_server
from playwright.sync_api import expect, sync_playwright
from starlette.testclient import TestClient

from service.build.corpus import CorpusError
from service.build.indexer import build_index
from service.web.app import create_app

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ARTICLE = f"""---
title: Evil {SCRIPT} title {IMG}
slug: evil-article
kind: article
url: https://publisher.example/evil?a="><img src=x onerror=alert(3)>
source: tests/test_security.py
editorial_headings: []
care_sections: []
---
## Headache <img src=x onerror=alert(2)> heading

Headache text with {SCRIPT} and {IMG} inside it.

Click [x](javascript:alert(1)) or <a href="javascript:alert(1)">this headache link</a> for help.
"""
RECORD = (
    '{"id": "evil-jsonl", "title": "Migraine <script>alert(1)</script>", '
    '"text": "Migraine text <img src=x onerror=alert(1)> with a javascript:alert(1) link."}\n'
)
MARKUP = re.compile(r"<(script|img|a href=\"javascript)", re.IGNORECASE)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "corpus" / "articles").mkdir(parents=True)
    (root / "corpus" / "articles" / "evil-article.md").write_text(ARTICLE, encoding="utf-8")
    (root / "evil.jsonl").write_text(RECORD, encoding="utf-8")
    build_index(root / "corpus", root / "md-index")
    build_index(root / "evil.jsonl", root / "jsonl-index")
    return {"root": root, "md": root / "md-index", "jsonl": root / "jsonl-index"}


@pytest.fixture(scope="module")
def md_client(hostile) -> Iterator[TestClient]:
    """One app on the Markdown index for the module: the tests using it only read answers."""
    with TestClient(create_app(make_settings(hostile["md"])), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def jsonl_client(hostile) -> Iterator[TestClient]:
    """One app on the JSONL index for the module: the tests using it only read answers."""
    with TestClient(create_app(make_settings(hostile["jsonl"])), raise_server_exceptions=False) as client:
        yield client


def test_the_api_escapes_snippets_and_returns_other_text_as_data(md_client):
    body = md_client.get("/search", params={"q": "headache"}).json()
    hit = body["results"][0]
    assert SCRIPT in hit["text"] and hit["article"]["title"].startswith("Evil <script>")  # JSON data, verbatim
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit["snippet"]
    assert "<" not in re.sub(r"</?mark>", "", hit["snippet"])  # only our own <mark> tags
    assert md_client.get("/search", params={"q": "headache"}).headers["content-type"].startswith("application/json")


def test_the_search_page_shows_markup_as_text(md_client):
    page = md_client.get("/", params={"q": "headache"}).text
    assert MARKUP.search(page.replace('<script src="/static/search.js" defer></script>', "")) is None
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt; title &lt;img src=x onerror=alert(1)&gt;" in page
    assert "Headache &lt;img src=x onerror=alert(2)&gt; heading" in page
    # The publisher URL stays one attribute value: its quote cannot close the attribute.
    assert 'href="https://publisher.example/evil?a=&#34;&gt;&lt;img src=x onerror=alert(3)&gt;#headache' in page


def test_the_article_page_shows_markup_as_text(md_client):
    page = md_client.get("/articles/evil-article").text
    assert MARKUP.search(page) is None
    assert "<h1>Evil &lt;script&gt;alert(1)&lt;/script&gt; title &lt;img src=x onerror=alert(1)&gt;</h1>" in page
    assert "[x](javascript:alert(1))" in page  # Markdown is not rendered, so no link is made
    assert 'id="headache-img-src-x-onerror-alert-2-heading"' in page


def test_suggestions_carry_markup_only_as_json_text(md_client):
    body = md_client.get("/suggest", params={"q": "evil"}).json()
    assert body["suggestions"][0]["text"] == f"Evil {SCRIPT} title {IMG}"
    assert body["suggestions"][0]["kind"] == "title"


def test_a_javascript_url_in_the_corpus_is_refused_by_the_build(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(RECORD.replace('"text"', '"url": "javascript:alert(1)", "text"'), encoding="utf-8")
    with pytest.raises(CorpusError, match="http"):
        build_index(bad, tmp_path / "index")
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_javascript_text_in_a_record_never_becomes_a_link(jsonl_client):
    hit = jsonl_client.get("/search", params={"q": "migraine"}).json()["results"][0]
    assert hit["url"] == "/articles/evil-jsonl#migraine-script-alert-1-script"
    page = jsonl_client.get("/", params={"q": "migraine"}).text
    assert "javascript:" not in _tags(page)  # in the text, never in a tag
    article = jsonl_client.get("/articles/evil-jsonl").text
    assert "javascript:" in article and "javascript:" not in _tags(article)


def test_cors_headers_only_for_listed_origins(bundled_index_dir):
    settings = make_settings(bundled_index_dir, cors_origins=("http://clinic.test",))
    with TestClient(create_app(settings)) as client:
        ok = client.get("/search", params={"q": "semen"}, headers={"Origin": "http://clinic.test"})
        assert ok.headers["access-control-allow-origin"] == "http://clinic.test"
        other = client.get("/search", params={"q": "semen"}, headers={"Origin": "http://other.test"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options(
            "/suggest", headers={"Origin": "http://clinic.test", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 400  # only GET is allowed cross-origin
        assert preflight.headers["content-security-policy"]  # security headers on every response
        # The one JSON error shape, not Starlette's plain "Disallowed CORS method".
        assert preflight.headers["content-type"] == "application/json"
        error = preflight.json()["error"]
        assert error["code"] == "cors_not_allowed" and error["request_id"] == preflight.headers["x-request-id"]
        assert error["message"].startswith("cross-origin request refused: this method is not allowed")
        assert preflight.headers["access-control-allow-methods"] == "GET"
        stranger = client.options(
            "/suggest", headers={"Origin": "http://other.test", "Access-Control-Request-Method": "GET"}
        )
        assert stranger.status_code == 400 and "this origin is not allowed" in stranger.json()["error"]["message"]
        allowed = client.options(
            "/suggest", headers={"Origin": "http://clinic.test", "Access-Control-Request-Method": "GET"}
        )
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://clinic.test"


def _tags(html: str) -> str:
    return re.sub(r">[^<]*<", "><", html)


# --- In a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(hostile) -> Iterator[dict[str, str]]:
    root = hostile["root"]
    md = start_server(hostile["md"], root, corpus=root / "corpus")
    try:
        jsonl = start_server(hostile["jsonl"], root, corpus=root / "evil.jsonl")
    except Exception:
        stop_server(md)
        raise
    yield {"md": md.url, "jsonl": jsonl.url}
    stop_server(md)
    stop_server(jsonl)


DOM_CHECK = """() => ({
  imgs: document.querySelectorAll('img').length,
  scripts: [...document.scripts].map(s => s.getAttribute('src')),
  jsLinks: [...document.querySelectorAll('a')].filter(a => !/^https?:/.test(a.href)).map(a => a.href),
  marks: document.querySelectorAll('mark').length,
})"""


@pytest.mark.slow
def test_nothing_from_the_corpus_executes_in_the_browser(servers):
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context()
            confine(context)
            dialogs: list[str] = []
            errors = PageErrors()
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            errors.watch(page)
            for base, question, title in [
                (servers["md"], "headache", "Evil <script>"),
                (servers["jsonl"], "migraine", "Migraine <script>"),
            ]:
                page.goto(base + "/")  # typed: results built by search.js
                page.locator("#q").press_sequentially(question, delay=10)
                expect(page.locator("#result-0 .result-title")).to_contain_text(title)
                found = page.evaluate(DOM_CHECK)
                assert found["imgs"] == 0 and found["scripts"] == ["/static/search.js"]
                assert found["jsLinks"] == [] and found["marks"] >= 1
                page.goto(f"{base}/?q={question}")  # shared URL: server HTML, then search.js
                expect(page.locator("#result-0")).to_be_visible()
                assert page.evaluate(DOM_CHECK)["imgs"] == 0
            page.goto(servers["md"] + "/articles/evil-article")
            expect(page.locator("h1")).to_have_text(f"Evil {SCRIPT} title {IMG}")
            assert page.evaluate(DOM_CHECK)["imgs"] == 0
            page.goto(servers["jsonl"] + "/?q=migraine")
            page.locator("#result-0 .result-link").click()
            page.wait_for_url(servers["jsonl"] + "/articles/evil-jsonl?q=migraine#migraine-script-alert-1-script")
            page.wait_for_timeout(300)  # time for any injected handler to have fired
            assert dialogs == []
            assert errors.messages == []
        finally:
            browser.close()
