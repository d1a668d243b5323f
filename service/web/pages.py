"""HTML pages (Jinja2, autoescaped): the search page and each article with its section anchors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.templating import Jinja2Templates

from service.index.links import article_link, is_article_page
from service.index.models import Passage
from service.web.api import holder_of, note_search, search_in_thread, served_or_503
from service.web.errors import ApiError
from service.web.params import MAX_QUERY_CHARS, search_request

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
)
_SAFE_LINK = re.compile(r"^(https?://|/(?!/))", re.IGNORECASE)


def safe_link(url: str | None, slug: str) -> str:
    """``url`` when it is a web address or one of our paths, else this service's article page.

    Escaping cannot make a ``javascript:`` address harmless, so a link we did not make is checked.
    """
    if url and _SAFE_LINK.match(url):
        return url
    fragment = url.rsplit("#", 1)[1] if url and "#" in url else ""
    return article_link(slug, anchor=fragment)


def with_question(url: str, q: str) -> str:
    """A link to one of our article pages that carries the question (``?q=``), so the page's
    "back" link returns to these results. Other sites' links never get it: the question is health
    data and stays with this service."""
    if not is_article_page(url) or not q.strip():
        return url
    path, hash_mark, fragment = url.partition("#")
    return f"{path}?q={quote(q, safe='')}{hash_mark}{fragment}"


_MARK_TAG = re.compile(r"(</?mark>)")


def answer_snippet(snippet: str, answer: dict | None) -> Markup:
    """The snippet with its answering sentence in ``<span class="answer">``, so a reader's eye
    lands on the sentence that answers, with the matched words still marked.

    The snippet is trusted HTML (snippets.py escapes all corpus text and adds only ``<mark>``);
    it is read back into plain text and ``<mark>`` runs, the answer (plain text) is found in it,
    and everything is escaped again on the way out, so no corpus text reaches the page unescaped.
    Without an answer, or one the snippet does not hold whole, the snippet is shown as it is.
    """
    sentence = answer["text"] if answer else ""
    runs = _marked_runs(snippet)
    plain = "".join(text for text, _ in runs)
    found = plain.find(sentence) if sentence else -1
    if found < 0:
        return Markup(snippet)
    end = found + len(sentence)
    return Markup(
        _render_runs(runs, 0, found)
        + '<span class="answer">'
        + _render_runs(runs, found, end)
        + "</span>"
        + _render_runs(runs, end, len(plain))
    )


def _marked_runs(snippet: str) -> list[tuple[str, bool]]:
    """The snippet as (plain text, marked) runs, in order."""
    runs, marked = [], False
    for part in _MARK_TAG.split(snippet):
        if part in ("<mark>", "</mark>"):
            marked = part == "<mark>"
        elif part:
            runs.append((unescape(part), marked))
    return runs


def _render_runs(runs: list[tuple[str, bool]], start: int, end: int) -> str:
    """The plain characters ``start:end`` of the runs as escaped HTML, marks closed at both ends."""
    out, at = [], 0
    for text, marked in runs:
        piece = text[max(start - at, 0) : max(end - at, 0)]
        at += len(text)
        if piece:
            out.append(f"<mark>{escape(piece)}</mark>" if marked else escape(piece))
    return "".join(out)


TEMPLATES.env.filters["safe_link"] = safe_link
TEMPLATES.env.filters["with_question"] = with_question
TEMPLATES.env.filters["answer_snippet"] = answer_snippet
ICON = Path(__file__).parent / "static" / "favicon.svg"


@dataclass(frozen=True)
class Paragraph:
    text: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class SectionView:
    heading: str
    anchor: str
    paragraphs: tuple[Paragraph, ...]


async def search_page(request: Request) -> Response:
    """Server-rendered results: works without JavaScript, and every search has a URL."""
    context: dict = {
        "q": request.query_params.get("q", ""),
        "results": None,
        "error": None,
        "offset": 0,
        "next_offset": None,
        "past_the_end": False,
        "public_url": request.app.state.settings.public_url,
        "topics": [],
    }
    if not context["q"].strip():
        # No question, no need of an index; when one is served, search.js gets its topics to
        # show if a question typed here finds nothing.
        served = holder_of(request).served
        context["topics"] = served.index.topics if served else []
        return TEMPLATES.TemplateResponse(request, "search.html", context)
    served = served_or_503(request)
    context["topics"] = served.index.topics
    try:
        search = search_request(request.query_params, served.index.articles)
    except ApiError as exc:
        context["error"] = exc.message
        return TEMPLATES.TemplateResponse(request, "search.html", context, status_code=exc.status)
    # As /search: off the event loop.
    found = await search_in_thread(request, served.index, search)
    note_search(request, search, found)
    results = found.to_dict()
    context["results"] = results
    context["offset"] = search.offset
    shown = search.offset + len(results["results"])
    context["next_offset"] = shown if shown < results["total"] else None
    # A page past the last result (an old link, a hand-edited offset) says so, never "showing from 11".
    context["past_the_end"] = not results["results"] and results["total"] > 0
    return TEMPLATES.TemplateResponse(request, "search.html", context)


async def article_page(request: Request) -> Response:
    served = served_or_503(request)
    slug = request.path_params["slug"]
    meta = served.index.articles.get(slug)
    if meta is None:
        raise ApiError(404, "unknown_article", f"no article with slug {slug!r}")
    start, end = served.index.article_rows.get(slug, (0, 0))
    sections = article_sections(served.index.passages[start:end])
    q = request.query_params.get("q", "")  # the question that led here: "back" returns to its results
    q = q if q.strip() and len(q) <= MAX_QUERY_CHARS else ""
    return TEMPLATES.TemplateResponse(request, "article.html", {"article": meta, "sections": sections, "q": q})


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico wherever no icon is declared (a JSON answer opened in a tab)."""
    return FileResponse(ICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def article_sections(passages: list[Passage]) -> list[SectionView]:
    """Passages back into sections, in reading order (passages never cross a section)."""
    views: list[SectionView] = []
    for passage in sorted(passages, key=lambda p: p.position):
        paragraphs = tuple(_paragraph(part) for part in passage.text.split("\n\n") if part.strip())
        if views and views[-1].anchor == passage.anchor:
            last = views.pop()
            views.append(SectionView(last.heading, last.anchor, last.paragraphs + paragraphs))
        else:
            views.append(SectionView(passage.section, passage.anchor, paragraphs))
    return views


def _paragraph(block: str) -> Paragraph:
    lines = block.split("\n")
    text = " ".join(line for line in lines if not line.startswith("- "))
    items = tuple(line[2:] for line in lines if line.startswith("- "))
    return Paragraph(text=text, items=items)
