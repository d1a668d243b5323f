"""The search page and the embeddable box in a real Chromium against a real server.

One browser and one server for the module; each test gets a fresh context. Only loopback traffic
is allowed, and every page except the one meant to be refused must log no console error.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from browser_support import ARTIFACTS, LOOPBACK, PageErrors, confine, launch, serious_violations, serve_folder
from conftest import free_port, start_server, stop_server
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'

expect.set_options(timeout=10_000)

BELLY_URL = "/articles/sharp-pulling-pain-in-belly-button#summary"
# The clinic's page declares no icon of its own (data:,), so that any console error on it is ours.
EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A clinic's website</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body><main><h1>Our clinic</h1>
<div data-healthfaq-search></div>
<script src="{service}/static/search-box.js" defer></script>
</main></body></html>
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, bundled_index_dir: Path) -> Iterator[dict]:
    """The service, a website it allows (CORS) and one it does not, all on loopback."""
    work = tmp_path_factory.mktemp("browser")
    allowed_port, refused_port = free_port(), free_port()
    allowed_origin = f"http://127.0.0.1:{allowed_port}"
    shutil.copytree(bundled_index_dir, work / "index")
    service = start_server(work / "index", work, env={"HEALTHFAQ_CORS_ORIGINS": f"{allowed_origin},http://x.test"})
    (work / "site").mkdir()
    (work / "site" / "index.html").write_text(EMBED_PAGE.format(service=service.url), encoding="utf-8")
    allowed, refused = serve_folder(work / "site", allowed_port), serve_folder(work / "site", refused_port)
    try:
        yield {"service": service.url, "allowed": allowed.url, "refused": refused.url}
    finally:
        allowed.stop()
        refused.stop()
        stop_server(service)


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    confine(ctx)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context) -> Iterator[object]:
    """A page that must log no console error and throw no uncaught exception."""
    errors = PageErrors()
    pg = context.new_page()
    errors.watch(pg)
    yield pg
    assert errors.messages == [], errors.messages


def type_question(page, text: str) -> None:
    """Type like a person, then wait for the answer to the whole text (the URL follows it)."""
    page.locator("#q").press_sequentially(text, delay=15)
    expect(page).to_have_url(re.compile(r"/\?q=" + re.escape(quote(text)) + "$"))


def test_typing_a_lay_question_shows_highlighted_results(page, sites):
    page.goto(sites["service"] + "/")
    search = page.locator("#q")
    expect(search).to_have_attribute("role", "combobox")
    expect(search).to_have_attribute("aria-expanded", "false")
    type_question(page, "belly button pain")
    first = page.locator('#result-list [role="gridcell"]').first
    expect(first.locator(".result-title")).to_have_text("Sharp pulling pain in belly button")
    expect(first.locator(".snippet mark").first).to_be_visible()
    assert {m.lower() for m in first.locator(".snippet mark").all_inner_texts()} >= {"belly", "button", "pain"}
    expect(search).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#search-status")).to_have_text(re.compile(r"^1 result in [\d.]+ ms$"))
    expect(page).to_have_url(sites["service"] + "/?q=belly%20button%20pain")


def test_arrow_down_then_enter_opens_the_first_results_section(page, sites):
    page.goto(sites["service"] + "/")
    type_question(page, "belly button pain")
    link = page.locator("#result-0 .result-link")
    expect(link).to_have_attribute("href", BELLY_URL.replace("#", "?q=belly%20button%20pain#"))
    page.locator("#q").press("ArrowDown")
    expect(page.locator("#q")).to_have_attribute("aria-activedescendant", "result-0")
    expect(page.locator("#result-0")).to_have_attribute("aria-selected", "true")
    page.locator("#q").press("Enter")
    page.wait_for_url(sites["service"] + BELLY_URL.replace("#", "?q=belly%20button%20pain#"))
    section = page.locator("#summary")
    expect(section).to_have_text("Summary")
    expect(page.locator("section[aria-labelledby=summary]")).to_contain_text(
        "What causes sharp and pulling-like pain around the belly button?"
    )


def test_arrow_up_returns_to_the_box_and_escape_clears(page, sites):
    page.goto(sites["service"] + "/")
    type_question(page, "semen")
    expect(page.locator("#result-1")).to_be_visible()
    search = page.locator("#q")
    search.press("ArrowDown")
    search.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", "result-1")
    search.press("ArrowUp")
    search.press("ArrowUp")
    assert search.get_attribute("aria-activedescendant") is None
    search.press("Escape")
    expect(search).to_have_value("")
    expect(page.locator("#result-list")).to_have_count(0)
    expect(search).to_have_attribute("aria-expanded", "false")
    expect(page).to_have_url(sites["service"] + "/")


def test_a_typo_shows_did_you_mean_and_clicking_it_searches(page, sites):
    page.goto(sites["service"] + "/")
    type_question(page, "sialadenitus")
    suggestion = page.locator(".did-you-mean a")
    expect(suggestion).to_have_text("sialadenitis")
    suggestion.click()
    expect(page.locator("#q")).to_have_value("sialadenitis")
    expect(page.locator(".did-you-mean")).to_have_count(0)
    expect(page.locator("#result-0 .result-title")).to_have_text("Submandibular gland swollen and painful")
    # The snippet starts at the answering sentence; the corrected word is marked in it.
    expect(page.locator("#result-0 .snippet mark", has_text=re.compile("sialadenitis", re.I)).first).to_be_visible()


def test_care_advice_is_above_the_results_and_more_results_load(page, sites):
    page.goto(sites["service"] + "/?q=blood%20in%20semen")
    expect(page.locator("#result-0")).to_be_visible()  # search.js has taken the results over
    care = page.locator("aside.care")
    expect(care).to_contain_text("consult your doctor")
    assert care.bounding_box()["y"] < page.locator("#result-0").bounding_box()["y"]
    page.locator("#q").fill("")
    type_question(page, "semen")
    expect(page.locator('#result-list [role="row"]')).to_have_count(10)
    page.locator(".load-more").click()
    rows = page.locator('#result-list [role="row"]')
    expect(rows.nth(10)).to_be_visible()
    total = int(page.locator("#search-status").inner_text().split()[0])
    expect(rows).to_have_count(min(total, 20))
    expect(page.locator("#result-10 .result-link")).to_be_focused()


def test_copy_with_citation_puts_text_and_section_link_on_the_clipboard(browser, sites):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    confine(ctx)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=sites["service"])
    errors = PageErrors()
    page = ctx.new_page()
    errors.watch(page)
    try:
        page.goto(sites["service"] + "/")
        type_question(page, "belly button pain")
        copy = page.locator("#result-0 button.copy")
        copy.click()
        expect(copy).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        text = httpx.get(sites["service"] + "/search", params={"q": "belly button pain"}).json()["results"][0]["text"]
        assert copied == (f"{text}\n\n— Sharp pulling pain in belly button, Summary: {sites['service']}{BELLY_URL}")
        assert errors.messages == []
    finally:
        ctx.close()


def test_the_form_works_without_javascript(browser, sites):
    ctx = browser.new_context(java_script_enabled=False)
    confine(ctx)
    try:
        page = ctx.new_page()
        page.goto(sites["service"] + "/")
        expect(page.locator(".js-only")).to_be_hidden()
        page.locator("#q").fill("blood in semen")
        page.locator("form[role=search] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/\?q=blood\+in\+semen$"))
        expect(page.locator("aside.care")).to_be_visible()
        expect(page.locator("ol.results li.result").first.locator("mark").first).to_be_visible()
        expect(page.locator("ol.results li.result").first.locator("a.result-link")).to_have_attribute(
            "href", re.compile(r"^/articles/semen-leakage\?q=blood%20in%20semen#")
        )
        page.locator("#q").fill("semen")
        page.locator("#q").press("Enter")
        page.wait_for_url(re.compile(r"/\?q=semen$"))
        page.locator("a.more-link").click()
        expect(page.locator("ol.results")).to_have_attribute("start", "11")
    finally:
        ctx.close()


def test_the_embedded_box_works_from_an_allowed_origin(page, sites):
    page.goto(sites["allowed"] + "/")
    box = page.locator("[data-healthfaq-search]")
    search = box.locator("input[role=combobox]")
    search.press_sequentially("bel", delay=15)
    option = box.locator("[role=option]").first
    expect(option).to_contain_text("Sharp pulling pain in belly button")
    expect(search).to_have_attribute("aria-expanded", "true")
    search.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", "option-0")
    search.press("Enter")
    expect(search).to_have_value("Sharp pulling pain in belly button")
    hit = box.locator(".hit").first
    expect(hit.locator("a")).to_have_attribute("href", sites["service"] + BELLY_URL)
    expect(hit.locator("mark").first).to_be_visible()
    # The box's own stylesheet came from the service, inside its shadow root.
    assert (
        page.evaluate("""() => getComputedStyle(document.querySelector('[data-healthfaq-search]')
        .shadowRoot.querySelector('.box')).borderRadius""")
        == "8px"
    )


def test_an_origin_not_in_the_allow_list_gets_no_cors_access(browser, sites):
    ctx = browser.new_context()
    confine(ctx)
    errors = PageErrors()
    try:
        page = ctx.new_page()
        errors.watch(page)
        page.goto(sites["refused"] + "/")
        box = page.locator("[data-healthfaq-search]")
        box.locator("input").press_sequentially("bel", delay=15)
        box.locator("input").press("Enter")
        expect(box.locator(".status")).to_have_text("Search is unavailable right now.")
        expect(box.locator("[role=option]")).to_have_count(0)
        assert any("CORS" in m for m in errors.messages), errors.messages
    finally:
        ctx.close()
    allowed = httpx.get(sites["service"] + "/suggest?q=bel", headers={"Origin": sites["allowed"]})
    refused = httpx.get(sites["service"] + "/suggest?q=bel", headers={"Origin": sites["refused"]})
    assert allowed.headers["access-control-allow-origin"] == sites["allowed"]
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize(
    "path, ready",
    [
        ("/?q=blood%20in%20semen", "#result-0"),
        ("/articles/semen-leakage", "#when-to-see-a-doctor"),
    ],
)
def test_axe_finds_no_serious_or_critical_violations(browser, sites, path, ready):
    ctx = browser.new_context(bypass_csp=True)  # axe is injected as a script the CSP would refuse
    confine(ctx)
    try:
        page = ctx.new_page()
        page.goto(sites["service"] + path)
        expect(page.locator(ready)).to_be_visible()
        if path.startswith("/?"):
            page.locator("#q").press("ArrowDown")  # with an active result, as a keyboard user sees it
        assert serious_violations(page) == []
    finally:
        ctx.close()


def test_axe_on_the_embedded_box_with_suggestions_open(browser, sites):
    ctx = browser.new_context(bypass_csp=True)
    confine(ctx)
    try:
        page = ctx.new_page()
        page.goto(sites["allowed"] + "/")
        search = page.locator("[data-healthfaq-search] input")
        search.press_sequentially("prost", delay=15)
        expect(page.locator("[data-healthfaq-search] [role=option]").first).to_be_visible()
        expect(page.locator("[data-healthfaq-search] .hit").first).to_be_visible()
        assert serious_violations(page) == []
    finally:
        ctx.close()


@pytest.mark.parametrize(
    "name, viewport, scheme",
    [
        ("desktop", {"width": 1280, "height": 800}, "light"),
        ("phone", {"width": 390, "height": 844}, "light"),
        ("phone-dark", {"width": 390, "height": 844}, "dark"),
    ],
)
def test_screenshots_desktop_and_phone(browser, sites, name, viewport, scheme):
    ctx = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1)
    confine(ctx)
    try:
        page = ctx.new_page()
        page.goto(sites["service"] + "/?q=blood%20in%20semen")
        expect(page.locator("#result-0")).to_be_visible()
        # Readable on a phone: nothing wider than the screen, text not shrunk.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert float(page.evaluate("getComputedStyle(document.querySelector('.snippet')).fontSize")[:-2]) >= 16
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"search-{name}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
    finally:
        ctx.close()


# --- what visitors hit: icon, phone layout, way back, pages, the box, copy with citation ------

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, locator
    return box


@pytest.mark.parametrize("where", ["/", "/?q=belly%20button%20pain", "/articles/semen-leakage", "/openapi.json", "box"])
def test_no_console_error_anywhere_the_icon_included(browser, sites, where):
    """Every page declares an icon that exists, and /favicon.ico (asked for by pages that
    declare none, like a JSON answer opened in a tab) is served.

    Chromium fetches no icon while requests are intercepted, so this context is not confine()d:
    its requests are watched instead, and every one must have stayed on loopback. Headless
    Chromium fetches a page's declared icon after the page has loaded and asks for no
    /favicon.ico on a JSON answer, so the fallback is checked over HTTP below."""
    ctx = browser.new_context()
    ctx.set_default_timeout(10_000)
    errors = PageErrors()
    requested: list[str] = []
    finished: list[str] = []
    try:
        page = ctx.new_page()
        errors.watch(page)
        page.on("request", lambda r: requested.append(r.url))
        page.on("requestfinished", lambda r: finished.append(r.url))
        if where == "box":
            page.goto(sites["allowed"] + "/")
            page.locator("[data-healthfaq-search] input").press_sequentially("bel", delay=15)
            expect(page.locator("[data-healthfaq-search] .hit").first).to_be_visible()
        else:
            page.goto(sites["service"] + where)
        page.wait_for_load_state("networkidle")
        if where not in ("box", "/openapi.json"):  # the clinic's page declares data:, a JSON answer none
            icon = page.evaluate("document.querySelector('link[rel=icon]').href")
            if icon not in finished:  # its fetch, and any console error it causes, is over once it finishes
                page.wait_for_event("requestfinished", lambda r: r.url == icon)
            response = httpx.get(icon, timeout=10)
            assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
        assert errors.messages == []
        assert requested and all(urlsplit(url).hostname in LOOPBACK for url in requested), requested
    finally:
        ctx.close()
    fallback = httpx.get(sites["service"] + "/favicon.ico", timeout=10)
    assert fallback.status_code == 200 and fallback.headers["content-type"] == "image/svg+xml"
    assert fallback.content.startswith(b"<svg")


def test_on_a_phone_the_question_has_the_row_and_answers_fit_the_first_screen(browser, sites):
    """At 390 x 844 with touch: the input takes the row (the button is an icon beside it),
    care advice is folded to its heading, and there is no keyboard hint."""
    ctx = browser.new_context(**PHONE)
    confine(ctx)
    errors = PageErrors()
    try:
        page = ctx.new_page()
        errors.watch(page)
        question = "blood in semen what to do"
        page.goto(sites["service"] + "/?q=" + quote(question))
        expect(page.locator("#result-0")).to_be_visible()
        row, field = _box(page.locator(".search-row")), _box(page.locator("#q"))
        button = _box(page.get_by_role("button", name="Search"))
        assert field["width"] >= 0.75 * row["width"], (field, row)
        assert button["x"] >= field["x"] + field["width"] and abs(button["y"] - field["y"]) < field["height"]
        assert page.evaluate(
            "(() => { const q = document.getElementById('q'); return q.scrollWidth <= q.clientWidth; })()"
        ), "the question is cut off"
        care = page.locator("aside.care")
        assert page.evaluate("document.querySelector('aside.care details').open") is False
        expect(care.locator(".care-text")).to_be_hidden()
        expect(care.locator("summary")).to_contain_text("When to see a doctor")
        assert _box(care)["height"] < 0.15 * 844
        title = _box(page.locator("#result-0 .result-title"))
        assert title["y"] + title["height"] <= 844, "the first answer is below the first screen"
        expect(page.locator(".kbd-hint")).to_be_hidden()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "search-phone-first-screen.png"))
        care.locator("summary").tap()
        expect(care.locator(".care-text")).to_be_visible()
        expect(care.locator(".care-text")).to_contain_text("consult your doctor")
        assert errors.messages == []
    finally:
        ctx.close()


def test_on_a_desktop_care_advice_is_open_and_the_keyboard_hint_shows(page, sites):
    page.goto(sites["service"] + "/?q=blood%20in%20semen")
    expect(page.locator("#result-0")).to_be_visible()
    expect(page.locator("aside.care .care-text")).to_be_visible()
    expect(page.locator(".kbd-hint")).to_be_visible()
    expect(page.locator(".search-button .button-label")).to_have_text("Search")
    assert _box(page.locator(".search-button .button-label"))["width"] > 20  # a label, not an icon only


def test_an_article_from_the_results_leads_back_to_them_and_marks_its_section(page, sites):
    """the question travels in the link, "back" returns to its results, and the section
    the answer came from is highlighted (:target)."""
    page.goto(sites["service"] + "/")
    type_question(page, "wet dreams")
    link = page.locator("#result-0 .result-link")
    expect(link).to_have_attribute("href", "/articles/semen-leakage?q=wet%20dreams#during-sleep")
    link.click()
    page.wait_for_url(sites["service"] + "/articles/semen-leakage?q=wet%20dreams#during-sleep")
    background = "el => getComputedStyle(el).backgroundColor"
    target = page.locator("section[aria-labelledby=during-sleep]")
    other = page.locator("section[aria-labelledby=when-to-see-a-doctor]")
    assert target.evaluate(background) != other.evaluate(background) == "rgba(0, 0, 0, 0)"
    back = page.locator(".back a")
    expect(back).to_have_text("← Back to the results for “wet dreams”")
    back.click()
    page.wait_for_url(sites["service"] + "/?q=wet%20dreams")
    expect(page.locator("#q")).to_have_value("wet dreams")
    expect(page.locator("#result-0 .result-link")).to_have_attribute(
        "href", "/articles/semen-leakage?q=wet%20dreams#during-sleep"
    )
    page.goto(sites["service"] + "/articles/semen-leakage")  # opened directly: back to the search page
    expect(page.locator(".back a")).to_have_attribute("href", "/")


def test_a_page_past_the_last_result_says_there_are_no_more(page, sites):
    """/?q=pain&offset=N past the end never says "showing from N+1" over nothing."""
    total = httpx.get(sites["service"] + "/search", params={"q": "pain"}, timeout=10).json()["total"]
    past = (total // 10 + 1) * 10
    page.goto(sites["service"] + f"/?q=pain&offset={past}")
    expect(page.locator(".past-the-end")).to_contain_text(
        f"No more results: all {total} for “pain” are on earlier pages."
    )
    expect(page.locator("#search-status")).to_have_text(re.compile(rf"^{total} results? in [\d.]+ ms$"))
    expect(page.locator("ol.results")).to_have_count(0)
    page.locator(".first-page-link").click()
    page.wait_for_url(sites["service"] + "/?q=pain")
    expect(page.locator("#result-0")).to_be_visible()
    # A real second page says which results it shows.
    semen = httpx.get(sites["service"] + "/search", params={"q": "semen"}, timeout=10).json()["total"]
    page.goto(sites["service"] + "/?q=semen&offset=10")
    shown = min(semen, 20)
    expect(page.locator("#search-status")).to_contain_text(f"· showing 11–{shown}")
    expect(page.locator("ol.results li.result")).to_have_count(shown - 10)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_the_boxs_suggestions_never_cover_its_results(browser, sites, viewport):
    """while typing, the suggestion list and the first result do not overlap."""
    ctx = browser.new_context(viewport=viewport)
    confine(ctx)
    try:
        page = ctx.new_page()
        page.goto(sites["allowed"] + "/")
        box = page.locator("[data-healthfaq-search]")
        box.locator("input").press_sequentially("smel", delay=15)  # 3 suggestions, no care advice: a hit right below
        options = box.locator("[role=listbox]")
        hit = box.locator(".hit-link").first
        expect(options.locator("[role=option]").first).to_be_visible()
        expect(hit).to_be_visible()
        hit.scroll_into_view_if_needed()  # on a phone the list pushes it below the fold
        listed, first = _box(options), _box(hit)
        assert listed["y"] + listed["height"] <= first["y"], (listed, first)
        # Nothing is drawn over the link: the topmost element in the middle of its first line is the link.
        on_top = hit.evaluate("""link => {
            const line = link.getClientRects()[0];
            const topmost = link.getRootNode().elementFromPoint(line.x + line.width / 2, line.y + line.height / 2);
            return topmost !== null && link.contains(topmost); }""")
        assert on_top
    finally:
        ctx.close()


def test_copy_with_citation_uses_the_public_address(browser, tmp_path, bundled_index_dir):
    """with HEALTHFAQ_PUBLIC_URL the copied link starts with it (and never carries the question)."""
    server = start_server(bundled_index_dir, tmp_path, env={"HEALTHFAQ_PUBLIC_URL": "https://faq.example.test"})
    ctx = browser.new_context()
    confine(ctx)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    try:
        page = ctx.new_page()
        page.goto(server.url + "/")
        type_question(page, "belly button pain")
        expect(page.locator("#result-0 .result-link")).to_have_attribute(
            "href", "https://faq.example.test" + BELLY_URL.replace("#", "?q=belly%20button%20pain#")
        )
        page.locator("#result-0 button.copy").click()
        expect(page.locator("#result-0 button.copy")).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.endswith(
            "\n\n— Sharp pulling pain in belly button, Summary: https://faq.example.test" + BELLY_URL
        )
    finally:
        ctx.close()
        stop_server(server)


def test_an_emergency_is_announced_above_everything_as_typed(page, sites):
    page.goto(sites["service"] + "/")
    type_question(page, "semen leaking and now crushing chest pain and sweating")
    alert = page.locator('#results .urgent[role="alert"]')
    expect(alert).to_contain_text("Possible heart attack")  # after the pause, the whole question
    expect(alert).to_contain_text("Source:")
    expect(page.locator("#result-0")).to_be_visible()
    assert alert.bounding_box()["y"] < page.locator("#result-0").bounding_box()["y"]


def test_the_embedded_box_shows_an_emergency_first(page, sites):
    page.goto(sites["allowed"] + "/")
    box = page.locator("[data-healthfaq-search]")
    box.locator("input[role=combobox]").press_sequentially("i want to kill myself", delay=15)
    alert = box.locator('.urgent[role="alert"]')
    expect(alert).to_contain_text("crisis line")
