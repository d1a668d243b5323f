"""Suggestions for the search box: the Suggester on the bundled index, then GET /suggest."""

import pytest

from service.suggest import Suggester

BELLY_TITLE = "Sharp pulling pain in belly button"


def texts(suggestions):
    return [s.text for s in suggestions]


def test_a_word_prefix_anywhere_in_a_title_finds_it(bundled_index):
    found = bundled_index.suggester.suggest("bel")
    assert found[0].text == BELLY_TITLE
    assert found[0].kind == "title"
    assert found[0].url == "/articles/sharp-pulling-pain-in-belly-button"


def test_every_typed_word_must_match(bundled_index):
    suggester = bundled_index.suggester
    assert texts(suggester.suggest("submandibular swol")) == ["Submandibular gland swollen and painful"]
    assert suggester.suggest("submandibular covid") == []


def test_a_typo_in_a_whole_word_or_a_prefix_is_forgiven(bundled_index):
    suggester = bundled_index.suggester
    assert "sialadenitis" in texts(suggester.suggest("sialadenitus"))
    assert BELLY_TITLE in texts(suggester.suggest("bellu"))
    assert "Signs of a blood clotting disorder" in texts(suggester.suggest("blod clot"))


def test_exact_matches_rank_above_typo_matches(bundled_index):
    found = texts(bundled_index.suggester.suggest("prost", limit=20))
    assert found[:3] == ["prostate", "prostate cancer", "prostatitis"]


def test_sections_link_to_their_anchor_and_phrases_have_no_link(bundled_index):
    found = bundled_index.suggester.suggest("prost", limit=20)
    section = next(s for s in found if s.kind == "section")
    assert section.text == "Issues related to Prostate (prostatitis, and prostate cancer)"
    assert section.url == "/articles/semen-leakage#issues-related-to-prostate-prostatitis-and-prostate-cancer"
    assert {s.kind for s in found} == {"phrase", "section"}
    assert all(s.url is None for s in found if s.kind == "phrase")
    assert "url" not in next(s for s in found if s.kind == "phrase").to_dict()


def test_a_heading_shared_by_many_articles_is_not_suggested(bundled_index):
    # Five articles have a "Summary" section: the heading alone says nothing about any of them.
    assert all(s.kind != "section" for s in bundled_index.suggester.suggest("summ"))


def test_publisher_urls_are_used_for_titles_and_sections():
    articles = {"a": {"slug": "a", "title": "Knee pain", "url": "https://example.org/knee",
                      "sections": [{"heading": "Causes of knee pain", "anchor": "causes-of-knee-pain"}]}}
    found = Suggester(articles, []).suggest("knee")
    assert [(s.kind, s.url) for s in found] == [
        ("title", "https://example.org/knee"), ("section", "https://example.org/knee#causes-of-knee-pain")]


def test_a_finished_word_is_matched_whole_and_nothing_matches_gibberish(bundled_index):
    suggester = bundled_index.suggester
    assert "Sudden feeling of passing out anxiety" in texts(suggester.suggest("anxiety "))
    assert suggester.suggest("zzqx") == []
    assert suggester.suggest("  ?! ") == []


def test_the_suggester_is_built_with_the_index_and_answers_repeatably(bundled_index):
    first = bundled_index.suggester.suggest("belly b")
    assert first and bundled_index.suggester.suggest("belly b") == first


def test_suggest_endpoint_shape_and_limit(client):
    response = client.get("/suggest", params={"q": "s", "limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "s"
    assert len(body["suggestions"]) == 3
    assert all(set(s) <= {"text", "kind", "url"} and s["kind"] in {"title", "section", "phrase"}
               for s in body["suggestions"])
    assert len(client.get("/suggest", params={"q": "s"}).json()["suggestions"]) == 8
    assert len(client.get("/suggest", params={"q": "s", "limit": 20}).json()["suggestions"]) > 8


@pytest.mark.parametrize("params, code", [
    ({}, "missing_query"),
    ({"q": "  "}, "missing_query"),
    ({"q": "x" * 201}, "query_too_long"),
    ({"q": "bel", "limit": "0"}, "invalid_parameter"),
    ({"q": "bel", "limit": "21"}, "invalid_parameter"),
    ({"q": "bel", "limit": "two"}, "invalid_parameter"),
])
def test_suggest_endpoint_errors_use_the_one_error_shape(client, params, code):
    response = client.get("/suggest", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["request_id"]


def test_suggest_is_in_the_openapi_document(client):
    doc = client.get("/openapi.json").json()
    operation = doc["paths"]["/suggest"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["q"]["required"] is True and params["q"]["schema"]["maxLength"] == 200
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 20, "default": 8}
    item = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["suggestions"]["items"]
    assert item["properties"]["kind"]["enum"] == ["title", "section", "phrase"]
    assert "prefix" in {p["name"] for p in doc["paths"]["/search"]["get"]["parameters"]}


def test_no_cors_headers_unless_an_origin_is_listed(client):
    response = client.get("/suggest", params={"q": "bel"}, headers={"Origin": "http://elsewhere.test"})
    assert "access-control-allow-origin" not in response.headers
