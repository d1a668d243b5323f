"""Suggestions for the search box: the Suggester on the bundled index, then GET /suggest."""

import pytest

from service.query.suggest import Suggester

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
    with_summary = [a for a in bundled_index.articles.values() if "Summary" in {s["heading"] for s in a["sections"]}]
    assert len(with_summary) == 5  # what the test is about, so it cannot pass for want of such a heading
    found = bundled_index.suggester.suggest("summ", limit=20)
    assert found  # suggestions are made for the prefix, just none of them the shared heading
    assert all(s.kind != "section" for s in found) and "Summary" not in texts(found)


def test_publisher_urls_are_used_for_titles_and_sections():
    articles = {
        "a": {
            "slug": "a",
            "title": "Knee pain",
            "url": "https://example.org/knee",
            "sections": [{"heading": "Causes of knee pain", "anchor": "causes-of-knee-pain"}],
        }
    }
    found = Suggester(articles, []).suggest("knee")
    assert [(s.kind, s.url) for s in found] == [
        ("title", "https://example.org/knee"),
        ("section", "https://example.org/knee#causes-of-knee-pain"),
    ]


def test_a_finished_word_is_matched_whole_and_nothing_matches_gibberish(bundled_index):
    suggester = bundled_index.suggester
    assert "Sudden feeling of passing out anxiety" in texts(suggester.suggest("anxiety "))
    assert suggester.suggest("zzqx") == []
    assert suggester.suggest("  ?! ") == []


def test_the_suggester_is_built_with_the_index_and_answers_repeatably(bundled_index):
    first = bundled_index.suggester.suggest("belly b")
    assert first and bundled_index.suggester.suggest("belly b") == first


def test_suggest_endpoint_shape_and_limit(shared_client):
    response = shared_client.get("/suggest", params={"q": "s", "limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "s"
    assert len(body["suggestions"]) == 3
    assert all(
        set(s) <= {"text", "kind", "url"} and s["kind"] in {"title", "section", "phrase"} for s in body["suggestions"]
    )
    assert len(shared_client.get("/suggest", params={"q": "s"}).json()["suggestions"]) == 8
    assert len(shared_client.get("/suggest", params={"q": "s", "limit": 20}).json()["suggestions"]) > 8


@pytest.mark.parametrize(
    "params, code",
    [
        ({}, "missing_query"),
        ({"q": "  "}, "missing_query"),
        ({"q": "x" * 201}, "query_too_long"),
        ({"q": "bel", "limit": "0"}, "invalid_parameter"),
        ({"q": "bel", "limit": "21"}, "invalid_parameter"),
        ({"q": "bel", "limit": "two"}, "invalid_parameter"),
    ],
)
def test_suggest_endpoint_errors_use_the_one_error_shape(shared_client, params, code):
    response = shared_client.get("/suggest", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["request_id"]


def test_suggest_is_in_the_openapi_document(shared_client):
    doc = shared_client.get("/openapi.json").json()
    operation = doc["paths"]["/suggest"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["q"]["required"] is True and params["q"]["schema"]["maxLength"] == 200
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 20, "default": 8}
    item = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["suggestions"]["items"]
    assert item["properties"]["kind"]["enum"] == ["title", "section", "phrase"]
    assert "prefix" in {p["name"] for p in doc["paths"]["/search"]["get"]["parameters"]}


def test_no_cors_headers_unless_an_origin_is_listed(shared_client):
    response = shared_client.get("/suggest", params={"q": "bel"}, headers={"Origin": "http://elsewhere.test"})
    assert "access-control-allow-origin" not in response.headers


# --- bounded work per request ---------------------------------------------------------------


def test_a_word_typed_many_times_counts_once(bundled_index):
    suggester = bundled_index.suggester
    assert suggester.suggest("s " * 99 + "s") == suggester.suggest("s")
    assert suggester.suggest("belly " * 30 + "bel") == suggester.suggest("belly bel")
    assert suggester.suggest("pain pain button pain butt") == suggester.suggest("pain button butt")


def test_only_the_last_few_distinct_words_are_matched(bundled_index):
    suggester = bundled_index.suggester
    assert suggester.suggest("zzqx sharp") == []  # every word counts...
    noise = " ".join(f"zz{chr(97 + n)}q" for n in range(20))
    kept = Suggester.MAX_WORDS - 1  # ...but only the last words (and the one being typed) are kept
    tail = "sharp pulling pain belly"
    assert len(tail.split()) == kept
    assert texts(suggester.suggest(f"{noise} {tail} butt")) == texts(suggester.suggest(f"{tail} butt"))
    assert BELLY_TITLE in texts(suggester.suggest(f"{noise} {tail} butt"))


def test_expansions_share_one_budget_per_request():
    # 1,000 distinct words starting with "s": a one-letter prefix may stand for the most used only.
    articles = {f"a{n}": {"slug": f"a{n}", "title": f"s{n:04d} topic", "sections": []} for n in range(1000)}
    articles["busy"] = {"slug": "busy", "title": "s0999 again", "sections": []}
    suggester = Suggester(articles, [])
    budget = Suggester.MAX_REQUEST_EXPANSIONS
    words = suggester._words_from("s", budget)
    assert len(words) == budget < 1000
    assert words[0] == "s0999"  # in two titles: the most used first
    exact, near = suggester._whole_word("s", budget // 3)
    assert len(exact) == budget // 3 and near == set()
    assert len(suggester.suggest("s", limit=20)) == 20


def test_a_slow_suggestion_is_answered_off_the_event_loop(bundled_index_dir):
    """While one /suggest call is stuck in the suggester, other requests are still answered."""
    import threading

    import anyio
    import httpx

    from service.web.app import create_app
    from tests.conftest import make_settings

    entered, release = threading.Event(), threading.Event()

    class GatedSuggester(Suggester):
        def suggest(self, q, limit=8):
            entered.set()
            release.wait(10)  # a stand-in for a costly suggestion: it holds its thread until released
            return super().suggest(q, limit)

    async def scenario():
        app = create_app(make_settings(bundled_index_dir))
        async with app.router.lifespan_context(app):
            index = app.state.holder.served.index
            # The served index is frozen; this test alone swaps in a suggester with a gate.
            object.__setattr__(index, "suggester", GatedSuggester(index.articles, index.passages))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                async with anyio.create_task_group() as tasks:
                    answers = {}

                    async def slow():
                        # A one-letter word: a question that can be slow, so it is sent to a thread.
                        answers["suggest"] = await client.get("/suggest", params={"q": "belly b"})

                    tasks.start_soon(slow)
                    with anyio.fail_after(5):  # run on the loop, the suggestion would block it for 10 s
                        while not entered.is_set():
                            await anyio.sleep(0.01)
                        answers["search"] = await client.get("/search", params={"q": "kegel"})
                        answers["healthz"] = await client.get("/healthz")
                    assert "suggest" not in answers
                    release.set()
        return answers

    try:
        answers = anyio.run(scenario)
    finally:
        release.set()
    assert answers["search"].status_code == 200 and answers["healthz"].status_code == 200
    assert BELLY_TITLE in [s["text"] for s in answers["suggest"].json()["suggestions"]]


@pytest.mark.parametrize(
    "q, slow",
    [
        ("bel", False),
        ("pa", False),
        ("belly but", False),
        ("pain in my", False),
        ("s", True),
        ("s " * 100, True),
        ("a b", True),
        ("pain in my lower back", True),
        ("belly-b", True),
    ],
)
def test_only_suggestions_that_can_be_slow_leave_the_event_loop(q, slow):
    from service.web.api import suggestion_may_be_slow

    assert suggestion_may_be_slow(q) is slow
