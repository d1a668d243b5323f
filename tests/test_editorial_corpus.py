"""The live editorial corpus (corpus/): properties that stay true whatever editors add or change.

These are the only tests that read corpus/. They never pin counts, titles or rankings, so an
editor adding or editing an article cannot turn CI red unless the article itself is broken.
"""
from __future__ import annotations

import json
import re
import warnings

import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.chunking import chunk_articles
from service.corpus import CorpusWarning, load_articles
from service.indexer import build_index, current_version, version_path
from service.search import SearchRequest, search
from service.store import open_version
from tests.conftest import EDITORIAL_CORPUS, ROOT, make_settings

# Scraped page furniture of the publisher's site: never article text.
SITE_CHROME = ["University Avenue", "303 0740", "All Rights Reserved", "Your Healthy Gut", "logo-1",
               "share this content", "Latest articles", "Advisory board"]


@pytest.fixture(scope="module")
def editorial_index(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("editorial-index")
    build_index(EDITORIAL_CORPUS, index_dir)
    return open_version(version_path(index_dir, current_version(index_dir)))


def test_every_editorial_article_loads_and_chunks():
    articles = load_articles(EDITORIAL_CORPUS)
    assert articles
    passages = chunk_articles(articles)
    assert {p.article.slug for p in passages} == {a.slug for a in articles}


def test_no_site_chrome_in_editorial_articles():
    for path in (EDITORIAL_CORPUS / "articles").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        for chrome in SITE_CHROME:
            assert chrome not in text, (path.name, chrome)


def test_no_editorial_article_draws_a_validation_warning():
    """Scraped link labels ("Read more") are chrome too; the build warns about them."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        load_articles(EDITORIAL_CORPUS)


def test_every_passage_links_to_a_section_of_its_article(editorial_index):
    for passage in editorial_index.passages:
        meta = editorial_index.articles[passage.article.slug]
        assert passage.anchor in {s["anchor"] for s in meta["sections"]}, passage.id
        assert passage.url.endswith("#" + passage.anchor)


def test_every_article_is_found_by_its_own_title(editorial_index):
    for slug, meta in editorial_index.articles.items():
        results = search(editorial_index, SearchRequest(q=meta["title"], limit=10))
        assert slug in {h.passage.article.slug for h in results.hits}, meta["title"]


# --- the README's examples are what the server answers (issue 12, item 16) --------------------
# The README's JSON example is real JSON in which a string ending in " …" stands for a longer
# value that begins with the part before " …"; took_ms is whatever was measured. A failure
# prints the block to paste into the README.

def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(title)
    return text[start:text.index("\n### ", start + 1)]


def _matches(shown, real, where: str = "$") -> list[str]:
    if where == "$.took_ms":
        return [] if isinstance(real, (int, float)) else [where]
    if isinstance(shown, str) and shown.endswith(" …"):
        return [] if isinstance(real, str) and real.startswith(shown[:-2]) else [where]
    if isinstance(shown, dict) and isinstance(real, dict):
        if set(shown) != set(real):
            return [f"{where} keys"]
        return [m for key in shown for m in _matches(shown[key], real[key], f"{where}.{key}")]
    if isinstance(shown, list) and isinstance(real, list):
        if len(shown) != len(real):
            return [f"{where} length"]
        return [m for n, (a, b) in enumerate(zip(shown, real)) for m in _matches(a, b, f"{where}[{n}]")]
    if isinstance(shown, float) and isinstance(real, float):
        return [] if abs(shown - real) < 1e-4 else [where]
    return [] if shown == real else [where]


def _as_readme_json(value, width: int = 60):
    """The real answer with long strings cut at a word, as the README shows it."""
    if isinstance(value, dict):
        return {k: v if k == "took_ms" else _as_readme_json(v, width) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_readme_json(v, width) for v in value]
    if isinstance(value, str) and len(value) > width:
        return value[:value.rfind(" ", 0, width)] + " …"
    return value


def test_the_readme_search_examples_are_what_the_server_answers(tmp_path):
    section = _readme_section("### `GET /search`")
    url = re.search(r"curl '(http://127\.0\.0\.1:8000/search\?[^']+)'\n```\n\n```json\n(.*?)\n```", section, re.S)
    assert url, "the README's /search example (a curl line, then its JSON) is missing"
    index_dir = tmp_path / "index"
    build_index(EDITORIAL_CORPUS, index_dir)
    shown = json.loads(url.group(2))
    with TestClient(create_app(make_settings(index_dir))) as client:
        real = client.get(url.group(1).removeprefix("http://127.0.0.1:8000")).json()
        refused = re.search(r"curl -i '(http://127\.0\.0\.1:8000/search\?[^']+)' +# (\d+) (\w+)", section)
        response = client.get(refused.group(1).removeprefix("http://127.0.0.1:8000"))
    assert not _matches(shown, real), (
        f"README.md's example differs at {_matches(shown, real)}; the server answers:\n"
        + json.dumps(_as_readme_json(real), ensure_ascii=False))
    assert (response.status_code, response.json()["error"]["code"]) == (int(refused.group(2)), refused.group(3))
