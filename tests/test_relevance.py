"""The seed development questions (tests/data/seed_dev.jsonl) on the bundled corpus."""

import json

from service.query.search import SearchRequest, search
from tests.conftest import DATA

QUESTIONS = [json.loads(line) for line in (DATA / "seed_dev.jsonl").read_text().splitlines() if line.strip()]


def _norm(text: str) -> str:
    return " ".join(text.split())


def answered(results, phrases, k):
    return any(any(_norm(p) in _norm(h.passage.text) for p in phrases) for h in results.hits[:k])


def test_success_at_3_on_the_seed_dev_set(bundled_index):
    graded = [q for q in QUESTIONS if q.get("expect_any")]
    misses = [
        q["query"]
        for q in graded
        if not answered(search(bundled_index, SearchRequest(q=q["query"], limit=10)), q["expect_any"], q["k"])
    ]
    assert graded and misses == []  # every graded question is answered in its top k


def test_no_site_chrome_in_any_result(bundled_index):
    forbidden = {f for q in QUESTIONS for f in q.get("forbid", [])}
    assert forbidden
    for q in QUESTIONS + [{"query": "address phone"}, {"query": "our products"}, {"query": "terms of use"}]:
        for hit in search(bundled_index, SearchRequest(q=q["query"], limit=50)).hits:
            for chrome in forbidden:
                assert chrome not in hit.passage.text and chrome not in hit.passage.article.title


def test_out_of_corpus_questions_return_nothing(bundled_index):
    for q in QUESTIONS:
        if q.get("expect_empty"):
            assert search(bundled_index, SearchRequest(q=q["query"])).total == 0, q["query"]
