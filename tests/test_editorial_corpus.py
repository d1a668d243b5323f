"""The live editorial corpus (corpus/): properties that stay true whatever editors add or change.

These are the only tests that read corpus/. They never pin counts, titles or rankings, so an
editor adding or editing an article cannot turn CI red unless the article itself is broken.
"""

from __future__ import annotations

import warnings

import pytest

from service.build.chunking import chunk_articles
from service.build.corpus import CorpusWarning, load_articles
from service.build.indexer import build_index
from service.query.search import SearchRequest, search
from service.query.store import open_current
from tests.conftest import EDITORIAL_CORPUS

# Scraped page furniture of the publisher's site: never article text.
SITE_CHROME = [
    "University Avenue",
    "303 0740",
    "All Rights Reserved",
    "Your Healthy Gut",
    "logo-1",
    "share this content",
    "Latest articles",
    "Advisory board",
]


@pytest.fixture(scope="module")
def editorial_index(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("editorial-index")
    build_index(EDITORIAL_CORPUS, index_dir)
    return open_current(index_dir)


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
