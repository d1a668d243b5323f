"""The answering sentence and related articles on every surface: the API and its OpenAPI document,
the server-rendered page, the page's script and the embeddable box in Chromium, and the CLI.

Questions are the tests' corpus (tests/data/corpus): a slang question whose article no passage
answers directly, one no article is close to, and plain questions a passage answers.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from browser_support import PageErrors, confine, launch, serious_violations, serve_folder
from playwright.sync_api import expect, sync_playwright

from service.cli import format_results, main
from service.query.topics import site_topics
from service.web.pages import answer_snippet
from tests.conftest import free_port, start_server, stop_server

expect.set_options(timeout=10_000)

# Answered by a passage, with its answering sentence (on the first result).
ANSWERED = "what causes sharp pain around the belly button"
# No passage answers it; the fainting article is close in meaning.
SLANG = "everything went grey and i had to sit down on the bus when i panicked"
SLANG_ARTICLE = "sudden-feeling-of-passing-out-anxiety"
# Nothing answers it and nothing is close: the page offers every topic instead.
UNRELATED = "how do i bleed a radiator"
TITLES = {
    "how-get-smell-back-after-covid": "How get smell back after covid",
    "semen-leakage": "Semen leakage from penis",
    "sharp-pulling-pain-in-belly-button": "Sharp pulling pain in belly button",
    "signs-of-a-blood-clotting-disorder": "Signs of a blood clotting disorder",
    "submandibular-gland-swollen-and-painful": "Submandibular gland swollen and painful",
    "sudden-feeling-of-passing-out-anxiety": "Sudden feeling of passing out anxiety",
}
# Wording that blames or coaches the visitor's question: never shown again.
BLAMING = ("the way you would to a friend", "try other words", "try different words", "fewer words")


def plain(snippet: str) -> str:
    """A snippet as the text a reader sees: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"</?[a-z]+[^>]*>", "", snippet))


# --- the emphasis, as a pure function --------------------------------------------------------


def test_the_answer_is_wrapped_and_marks_crossing_its_edges_are_closed_and_reopened():
    snippet = "\u2026 It is <mark>sharp pain</mark> near the <mark>navel hurts</mark> &amp; more."
    shown = answer_snippet(snippet, {"start": 0, "end": 0, "text": "pain near the navel"})
    assert str(shown) == (
        "\u2026 It is <mark>sharp </mark>"
        '<span class="answer"><mark>pain</mark> near the <mark>navel</mark></span>'
        "<mark> hurts</mark> &amp; more."
    )


def test_corpus_text_stays_escaped_around_the_answer():
    snippet = "a &lt;script&gt; b. The &quot;answer&quot; &#x27;here&#x27;. c"
    shown = str(answer_snippet(snippet, {"start": 0, "end": 0, "text": "The \"answer\" 'here'."}))
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert shown == 'a &lt;script&gt; b. <span class="answer">The &quot;answer&quot; &#x27;here&#x27;.</span> c'
    assert plain(shown) == plain(snippet)


@pytest.mark.parametrize(
    "answer", [None, {"start": 0, "end": 4, "text": ""}, {"start": 0, "end": 9, "text": "not there"}]
)
def test_without_an_answer_the_snippet_is_shown_as_it_was(answer):
    snippet = "\u2026 <mark>pain</mark> &amp; more \u2026"
    assert str(answer_snippet(snippet, answer)) == snippet


def test_topics_are_every_article_by_title_with_the_one_link_rule():
    articles = {
        "b": {"slug": "b", "title": "beta", "url": None},
        "a": {"slug": "a", "title": "Alpha", "url": "https://publisher.example/a"},
    }
    topics = site_topics(articles, "https://faq.example")
    assert [(t.title, t.url) for t in topics] == [
        ("Alpha", "https://publisher.example/a"),
        ("beta", "https://faq.example/articles/b"),
    ]


def test_the_cli_text_prints_the_answer_related_articles_and_topics():
    result = {
        "article": {"slug": "a", "title": "Alpha", "url": None},
        "section": "Causes",
        "text": "First. The answer.\n- item",
        "url": "https://faq.example/articles/a#causes",
        "answer": {"start": 7, "end": 18, "text": "The answer."},
    }
    related = [{"slug": "b", "title": "Beta", "url": "https://faq.example/articles/b", "score": 0.5}]
    found = {"results": [result], "related": related, "urgent": None, "care_advice": None, "did_you_mean": None}
    assert format_results(found) == (
        "1. Alpha › Causes\n"
        "   Answer: The answer.\n\n"
        "   First. The answer.\n   - item\n"
        "   https://faq.example/articles/a#causes\n\n"
        "Related articles (not a direct answer):\n"
        "- Beta\n  https://faq.example/articles/b\n"
    )
    nothing = {**found, "results": [], "related": []}
    assert format_results(nothing, [("Alpha", "https://faq.example/articles/a")]) == (
        "No passage answers that question.\n\nTopics:\n- Alpha\n  https://faq.example/articles/a\n"
    )


# --- the API and its document ------------------------------------------------------------------


def search(client, q: str, **params) -> dict:
    response = client.get("/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_each_answer_is_a_sentence_of_its_passage_and_the_snippet_holds_it_whole(shared_client):
    body = search(shared_client, ANSWERED)
    assert body["results"][0]["answer"] is not None
    for result in body["results"]:
        answer = result["answer"]
        if answer is None:
            continue
        assert 0 <= answer["start"] < answer["end"] <= len(result["text"])
        assert result["text"][answer["start"] : answer["end"]] == answer["text"]
        assert answer["text"] in plain(result["snippet"])


def test_while_a_word_is_being_typed_no_result_has_an_answer(shared_client):
    body = search(shared_client, "belly button pa", prefix="true")
    assert body["results"] and [r["answer"] for r in body["results"]] == [None] * len(body["results"])


def test_a_slang_question_gets_related_articles_and_an_unrelated_one_nothing(shared_client):
    slang = search(shared_client, SLANG)
    assert 1 <= len(slang["related"]) <= 3
    assert SLANG_ARTICLE in [a["slug"] for a in slang["related"]]
    for article in slang["related"]:
        assert set(article) == {"slug", "title", "url", "score"}
        assert article["title"] == TITLES[article["slug"]] and article["url"] == f"/articles/{article['slug']}"
    unrelated = search(shared_client, UNRELATED)
    assert unrelated["results"] == [] and unrelated["related"] == []


def test_the_openapi_document_says_what_answer_and_related_are(shared_client):
    doc = shared_client.get("/openapi.json").json()
    schema = doc["paths"]["/search"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    answer = schema["properties"]["results"]["items"]["properties"]["answer"]
    assert "answer" in schema["properties"]["results"]["items"]["required"] and "related" in schema["required"]
    assert answer["type"] == ["object", "null"]
    assert "Unicode code points" in answer["description"] and "typed" in answer["description"]
    related = schema["properties"]["related"]
    assert related["type"] == "array" and related["maxItems"] == 3
    assert related["description"].startswith("Not a direct answer")
    assert set(related["items"]["properties"]) == {"slug", "title", "url", "score"}


# --- the server-rendered page ----------------------------------------------------------------


def page_text(client, q: str) -> str:
    """The page as a visitor without JavaScript sees it: the inert <template> left out."""
    response = client.get("/", params={"q": q})
    assert response.status_code == 200
    return response.text.split("<template", 1)[0]


def test_the_page_emphasises_each_answer_inside_its_snippet(shared_client):
    first = search(shared_client, ANSWERED)["results"][0]
    page = page_text(shared_client, ANSWERED)
    snippet = re.search(r'<p class="snippet">(.*?)</p>', page, re.DOTALL)
    assert snippet is not None
    emphasised = re.search(r'<span class="answer">(.*?)</span>', snippet.group(1), re.DOTALL)
    assert emphasised is not None and plain(emphasised.group(1)) == first["answer"]["text"]
    assert plain(snippet.group(1)) == plain(first["snippet"])  # the same snippet, nothing added or lost


def test_related_articles_are_shown_after_the_answers_labelled_and_linked(shared_client):
    page = page_text(shared_client, SLANG)
    related = page[page.index('<section class="related"') :]
    related = related[: related.index("</section>")]
    assert '<h2 id="related-heading" class="related-heading">Related articles</h2>' in related
    assert "not a direct answer" in related
    href = f"/articles/{SLANG_ARTICLE}?q={quote(SLANG, safe='')}"
    assert f'<a class="related-link" href="{href}">{TITLES[SLANG_ARTICLE]}</a>' in related
    if '<ol class="results"' in page:
        assert page.index('<ol class="results"') < page.index('<section class="related"')
    assert 'class="topics"' not in page


def test_a_question_nothing_is_close_to_offers_every_topic(shared_client):
    page = page_text(shared_client, UNRELATED)
    assert f"No passage answers “{UNRELATED}”." in page
    links = re.findall(r'<a class="topic-link" href="([^"]+)">([^<]+)</a>', page)
    assert links == sorted(((f"/articles/{slug}", title) for slug, title in TITLES.items()), key=lambda x: x[1].lower())
    assert 'class="related"' not in page and '<ol class="results"' not in page


def test_the_page_without_a_question_carries_the_topics_for_its_script_inertly(shared_client):
    text = shared_client.get("/").text
    template = text[text.index('<template id="topics-template">') : text.index("</template>")]
    assert template.count('class="topic-link"') == len(TITLES)
    assert 'class="topic-link"' not in text.split("<template", 1)[0]  # nothing shown before a question


@pytest.mark.parametrize("q", [UNRELATED, SLANG, ANSWERED])
def test_nothing_blames_or_coaches_the_wording_of_the_question(shared_client, q):
    shown = [shared_client.get("/", params={"q": q}).text]
    shown += [shared_client.get(f"/static/{name}").text for name in ("search.js", "search-box.js")]
    for text in shown:
        assert not [phrase for phrase in BLAMING if phrase in text.lower()]


# --- the command line ------------------------------------------------------------------------


def cli(capsys, *argv: str) -> str:
    assert main(["search", *argv]) == 0
    return capsys.readouterr().out


def test_the_cli_prints_each_answer_then_the_related_articles(capsys, bundled_index_dir):
    index = ("--index", str(bundled_index_dir))
    body = json.loads(cli(capsys, ANSWERED, *index, "--json"))
    out = cli(capsys, ANSWERED, *index)
    first = body["results"][0]
    assert out.startswith(f"1. {first['article']['title']} › {first['section']}\n   Answer: ")
    assert "   Answer: " + first["answer"]["text"].replace("\n", "\n   ") + "\n" in out
    out = cli(capsys, SLANG, *index, "--base-url", "https://faq.example")
    related = out[out.index("Related articles (not a direct answer):\n") :]
    assert f"- {TITLES[SLANG_ARTICLE]}\n  https://faq.example/articles/{SLANG_ARTICLE}\n" in related
    assert "Topics:" not in out


def test_the_cli_offers_every_topic_when_nothing_answers_or_is_close(capsys, bundled_index_dir):
    out = cli(capsys, UNRELATED, "--index", str(bundled_index_dir))
    topics = sorted(TITLES.items(), key=lambda item: item[1].lower())
    assert out.rstrip("\n") + "\n" == "No passage answers that question.\n\nTopics:\n" + "".join(
        f"- {title}\n  http://127.0.0.1:8000/articles/{slug}\n" for slug, title in topics
    )


# --- in Chromium: the page's script and the embeddable box render the same ---------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, bundled_index_dir: Path) -> Iterator[dict]:
    """A real server, and a website on another loopback port that embeds the box (allowed by CORS)."""
    work = tmp_path_factory.mktemp("answers")
    site_port = free_port()
    shutil.copytree(bundled_index_dir, work / "index")
    service = start_server(work / "index", work, env={"HEALTHFAQ_CORS_ORIGINS": f"http://127.0.0.1:{site_port}"})
    (work / "site").mkdir()
    (work / "site" / "index.html").write_text(EMBED_PAGE.format(service=service.url), encoding="utf-8")
    site = serve_folder(work / "site", site_port)
    try:
        yield {"service": service.url, "site": site.url}
    finally:
        site.stop()
        stop_server(service)


EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A clinic</title><link rel="icon" href="data:,"></head>
<body><main><h1>Our clinic</h1><div data-healthfaq-search></div>
<script src="{service}/static/search-box.js" defer></script></main></body></html>
"""


@pytest.fixture()
def page(browser) -> Iterator[object]:
    """A page on loopback only that must log no console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    confine(context)
    errors = PageErrors()
    pg = context.new_page()
    errors.watch(pg)
    yield pg
    context.close()
    assert errors.messages == [], errors.messages


def type_question(page, text: str) -> None:
    """Type like a person, then wait for the whole question's answer (the URL follows it)."""
    page.locator("#q").press_sequentially(text, delay=10)
    expect(page).to_have_url(re.compile(r"/\?q=" + re.escape(quote(text)) + "$"))


@pytest.mark.slow
def test_as_you_type_the_page_emphasises_answers_and_shows_related_articles_or_topics(page, sites):
    service = sites["service"]
    answer = search_live(service, ANSWERED)["results"][0]["answer"]["text"]
    page.goto(service + "/")
    type_question(page, ANSWERED)
    expect(page.locator("#result-0 .snippet .answer")).to_have_text(answer, use_inner_text=False)
    expect(page.locator("#result-0 .snippet .answer")).to_have_css("font-weight", "600")

    page.locator("#q").fill("")
    type_question(page, SLANG)
    related = page.locator("#results section.related")
    expect(related.locator("h2")).to_have_text("Related articles")
    expect(related).to_contain_text("not a direct answer")
    link = related.locator(f'a[href^="/articles/{SLANG_ARTICLE}?q="]')
    expect(link).to_have_text(TITLES[SLANG_ARTICLE])
    expect(page.locator("#results .topics")).to_have_count(0)

    page.locator("#q").fill("")
    type_question(page, UNRELATED)
    expect(page.locator("#results .empty")).to_have_text(f"No passage answers “{UNRELATED}”.")
    topics = page.locator("#results .topics .topic-link")
    expect(topics).to_have_count(len(TITLES))
    assert sorted(topics.all_inner_texts()) == sorted(TITLES.values())
    expect(page.locator("#results section.related")).to_have_count(0)
    link = page.locator(f'#results .topic-link[href="/articles/{SLANG_ARTICLE}"]')
    link.click()
    page.wait_for_url(service + f"/articles/{SLANG_ARTICLE}")


@pytest.mark.slow
def test_the_server_rendered_related_block_passes_axe(browser, sites):
    context = browser.new_context(bypass_csp=True)  # axe is injected as a script the CSP would refuse
    confine(context)
    try:
        page = context.new_page()
        page.goto(sites["service"] + "/?q=" + quote(SLANG))
        expect(page.locator("section.related")).to_be_visible()
        assert serious_violations(page) == []
    finally:
        context.close()


@pytest.mark.slow
def test_the_embedded_box_emphasises_answers_and_shows_related_articles(page, sites):
    answer = search_live(sites["service"], ANSWERED)["results"][0]["answer"]["text"]
    page.goto(sites["site"] + "/")
    box = page.locator("[data-healthfaq-search]")
    search_box = box.locator("input[role=combobox]")
    search_box.fill(ANSWERED)
    search_box.press("Enter")
    expect(box.locator(".hit").first.locator(".answer")).to_have_text(answer, use_inner_text=False)
    search_box.fill(SLANG)
    search_box.press("Enter")
    related = box.locator("section.related")
    expect(related).to_contain_text("Related articles")
    expect(related).to_contain_text("not a direct answer")
    expect(related.locator(f'a[href="{sites["service"]}/articles/{SLANG_ARTICLE}"]')).to_have_text(
        TITLES[SLANG_ARTICLE]
    )
    search_box.fill(UNRELATED)
    search_box.press("Enter")
    expect(box.locator(".empty")).to_have_text("No passage answers that question.")
    expect(box.locator("section.related")).to_have_count(0)


def search_live(service: str, q: str) -> dict:
    response = httpx.get(service + "/search", params={"q": q}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()
