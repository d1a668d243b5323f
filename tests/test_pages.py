"""HTML pages through the TestClient: server-rendered results that work without JavaScript."""

import re

import pytest

from service.web.pages import safe_link


def test_search_page_without_a_question_is_just_the_form(shared_client):
    page = shared_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form class="search-form" action="/" method="get" role="search"' in page.text
    assert '<h1 class="label"><label for="q">' in page.text
    assert 'class="result"' not in page.text and 'class="empty"' not in page.text


def test_results_are_rendered_with_section_links_and_highlighted_snippets(shared_client):
    page = shared_client.get("/", params={"q": "belly button pain"})
    assert page.status_code == 200
    assert 'value="belly button pain"' in page.text
    assert (
        '<a class="result-link" href="/articles/sharp-pulling-pain-in-belly-button?q=belly%20button%20pain#summary">'
        '<span class="result-title">Sharp pulling pain in belly button</span>'
    ) in page.text
    assert "<mark>belly</mark> <mark>button</mark>" in page.text
    assert re.search(r'role="status">1 result in [\d.]+ ms<', page.text)


def test_corpus_text_and_the_question_are_escaped(shared_client):
    page = shared_client.get("/", params={"q": '<b>"semen"</b> & leakage'})
    assert "<b>" not in page.text
    assert 'value="&lt;b&gt;&#34;semen&#34;&lt;/b&gt; &amp; leakage"' in page.text
    # The snippet keeps only our <mark> tags, and the answering sentence's <span class="answer">.
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', page.text, re.DOTALL)
    assert snippets and any("<mark>" in s for s in snippets)
    tags = {tag for s in snippets for tag in re.findall(r"<[^>]*>", s)}
    assert tags <= {"<mark>", "</mark>", '<span class="answer">', "</span>"}, tags


def test_empty_state_is_friendly_and_repeats_the_question(shared_client):
    page = shared_client.get("/", params={"q": "car insurance quote"})
    assert page.status_code == 200
    assert '<div class="empty">' in page.text
    assert "No passage answers “car insurance quote”." in page.text
    assert 'role="status">0 results in' in page.text


def test_did_you_mean_is_a_link_that_runs_the_corrected_search(shared_client):
    page = shared_client.get("/", params={"q": "sialadenitus"})
    assert 'Did you mean <a href="/?q=sialadenitis">sialadenitis</a>?' in page.text
    corrected = shared_client.get("/?q=sialadenitis")
    assert "Submandibular gland swollen and painful" in corrected.text


def test_care_advice_comes_before_the_results(shared_client):
    text = shared_client.get("/", params={"q": "blood in semen"}).text
    care = text.index('<aside class="care" aria-label="When to see a doctor">')
    assert care < text.index('<ol class="results"')
    assert '<a href="/articles/semen-leakage?q=blood%20in%20semen#when-to-see-a-doctor">' in text[care:]
    assert "consult your doctor" in text[care : text.index("</aside>")]


def test_more_results_is_a_plain_link_to_the_next_page(shared_client):
    first = shared_client.get("/", params={"q": "semen"}).text
    more = re.search(r'class="more-link" href="/\?q=semen&amp;offset=(\d+)"', first)
    assert more
    second = shared_client.get(f"/?q=semen&offset={more.group(1)}")
    assert f'<ol class="results" start="{int(more.group(1)) + 1}">' in second.text


def test_invalid_parameters_show_the_error_on_the_page(shared_client):
    page = shared_client.get("/", params={"q": "x" * 2001})
    assert page.status_code == 400
    assert '<p class="error" role="alert">' in page.text


def test_article_page_has_an_id_on_every_section_heading(shared_client):
    page = shared_client.get("/articles/semen-leakage")
    assert page.status_code == 200
    assert '<h2 id="when-to-see-a-doctor">When to see a doctor</h2>' in page.text
    assert '<h2 id="during-sleep">' in page.text


@pytest.mark.parametrize("path", ["/", "/?q=blood+in+semen", "/?q=zzzz", "/articles/semen-leakage"])
def test_pages_keep_the_strict_csp_no_inline_script_or_style(shared_client, path):
    page = shared_client.get(path)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"]
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert all('src="/static/' in tag for tag in scripts)
    assert re.search(r"<script\b[^>]*>\s*[^<\s]", page.text) is None  # no inline script body
    assert "style=" not in page.text and "<style" not in page.text
    assert re.search(r"\son[a-z]+=", page.text) is None  # no inline event handlers


def test_the_search_page_loads_its_script_and_the_static_files_exist(shared_client):
    assert '<script src="/static/search.js" defer></script>' in shared_client.get("/").text
    for name, kind in [
        ("search.js", "javascript"),
        ("search-box.js", "javascript"),
        ("search-box.css", "text/css"),
        ("site.css", "text/css"),
    ]:
        response = shared_client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]


@pytest.mark.parametrize(
    "url, expected",
    [
        ("/articles/a#x", "/articles/a#x"),
        ("https://example.org/a#x", "https://example.org/a#x"),
        ("javascript:alert(1)#x", "/articles/a#x"),
        ("JavaScript:alert(1)", "/articles/a"),
        ("//evil.test/a", "/articles/a"),
        ("data:text/html,hi", "/articles/a"),
        (None, "/articles/a"),
    ],
)
def test_safe_link_only_lets_web_addresses_and_our_paths_through(url, expected):
    assert safe_link(url, "a") == expected


def test_a_page_search_that_finds_nothing_is_counted_like_an_api_one(client):
    def zero_results() -> float:
        line = next(
            row
            for row in client.get("/metrics").text.splitlines()
            if row.startswith("healthfaq_zero_result_searches_total ")
        )
        return float(line.split()[1])

    before = zero_results()
    client.get("/", params={"q": "car insurance quote"})
    client.get("/", params={"q": "belly button pain"})
    assert zero_results() == before + 1


@pytest.mark.parametrize(
    "url, expected",
    [
        ("/articles/a#x", "/articles/a?q=wet%20dreams%20%26%20%3F#x"),
        ("/articles/a", "/articles/a?q=wet%20dreams%20%26%20%3F"),
        ("https://publisher.example/a#x", "https://publisher.example/a#x"),  # the question never leaves us
    ],
)
def test_links_to_our_articles_carry_the_question(url, expected):
    from service.web.pages import with_question

    assert with_question(url, "wet dreams & ?") == expected
    assert with_question(url, "  ") == url


def test_the_article_page_leads_back_to_the_question_escaped(shared_client):
    page = shared_client.get("/articles/semen-leakage", params={"q": '<b>"wet"</b> dreams'})
    assert (
        '<a href="/?q=%3Cb%3E%22wet%22%3C/b%3E%20dreams">← Back to the results for '
        "“&lt;b&gt;&#34;wet&#34;&lt;/b&gt; dreams”</a>"
    ) in page.text
    for q in ("", "   ", "x" * 2001):
        without_question = shared_client.get("/articles/semen-leakage", params={"q": q}).text
        assert '<p class="back"><a href="/">← Search</a></p>' in without_question


def test_a_page_past_the_end_promises_nothing(shared_client):
    total = shared_client.get("/search", params={"q": "pain"}).json()["total"]
    page = shared_client.get("/", params={"q": "pain", "offset": str((total // 10 + 1) * 10)}).text
    assert f"No more results: all {total} for “pain” are on earlier pages." in page
    assert "showing" not in page and "No passage answers" not in page and '<ol class="results"' not in page
    assert '<a class="first-page-link" href="/?q=pain">' in page


def test_the_icon_is_declared_and_served(shared_client):
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in shared_client.get("/").text
    for path in ("/favicon.ico", "/static/favicon.svg"):
        response = shared_client.get(path)
        assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
