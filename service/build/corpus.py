"""Read the corpus (a folder of Markdown articles, or a JSONL file) into Articles.

Knows nothing of Whoosh. Every problem is raised as a CorpusError naming the file, the line and
the reason, so an editor can fix it without reading code; a bad article never reaches an index.
What is probably a mistake but harmless to index (a scraped "Read more" link label) is a
CorpusWarning instead, issued through Python's ``warnings`` so the build still succeeds.
"""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from service.index.errors import CorpusError  # noqa: F401  (re-exported: callers catch it from here)
from service.index.models import Article, Block, Section

KINDS = ("article", "summary")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*•])\s+(.*)$")
# Link labels of the publisher's site scraped along with a teaser ("… (pre-umbilical). Read more.
# What causes …"): a label ends its sentence, so it is followed by a capital, an arrow or the end of
# the line; "to learn more about it" is a sentence and is left alone.
_LINK_LABEL = re.compile(
    r"(?i:\b(read more|continue reading|learn more|click here|see more))"
    r"\s*(?:\.{1,3}|…|»|›|→|>)?(?=\s+[A-Z]|\s*$)"
)


class CorpusWarning(UserWarning):
    """A corpus file that can be indexed but probably holds something that is not the publisher's text."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: {reason}")


def load_articles(corpus: Path) -> list[Article]:
    """All articles of a corpus folder (``articles/*.md``) or JSONL file, validated."""
    corpus = Path(corpus)
    if corpus.is_file() and corpus.suffix in {".jsonl", ".ndjson"}:
        articles = list(_read_jsonl(corpus))
        if not articles:  # publishing it would empty the index in service
            raise CorpusError(corpus, 0, "no articles (no JSON records) found")
    elif corpus.is_dir():
        folder = corpus / "articles" if (corpus / "articles").is_dir() else corpus
        files = sorted(folder.glob("*.md"))
        if not files:
            raise CorpusError(folder, 0, "no articles (*.md) found")
        articles = [_read_markdown(path) for path in files]
        _check_unique(
            (a, path, _key_line(path.read_text(encoding="utf-8").split("\n"), "slug"))
            for a, path in zip(articles, files)
        )
    else:
        raise CorpusError(corpus, 0, "corpus must be a folder of Markdown articles or a .jsonl file")
    return articles


def slugify(text: str) -> str:
    """URL anchor for a heading: lowercase ASCII words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "section"


def _check_unique(articles: Iterable[tuple[Article, Path, int]]) -> None:
    seen: dict[str, str] = {}
    for article, path, line in articles:
        if article.slug in seen:
            raise CorpusError(path, line, f"duplicate slug {article.slug!r} (also in {seen[article.slug]})")
        seen[article.slug] = str(path)


# --- Markdown -----------------------------------------------------------------------------


def _read_markdown(path: Path) -> Article:
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(path, 1, f"not UTF-8 text ({exc.reason})") from None
    lines = raw.replace("\r\n", "\n").split("\n")
    meta, body_start = _front_matter(path, lines)
    title = _title(path, lines, meta)
    slug = meta.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise CorpusError(
            path, _key_line(lines, "slug"), "'slug' must be letters, digits, '-', '_' or '.' (e.g. semen-leakage)"
        )
    kind = meta.get("kind", "article")
    if kind not in KINDS:
        raise CorpusError(path, _key_line(lines, "kind"), f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    url = meta.get("url")
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://", url)):
        raise CorpusError(path, _key_line(lines, "url"), "'url' must be an http(s) address")
    editorial = set(_str_list(path, lines, meta, "editorial_headings"))
    sections = _sections(path, lines, body_start, editorial)
    care = tuple(_str_list(path, lines, meta, "care_sections"))
    anchors = {s.anchor for s in sections}
    for anchor in care:
        if anchor not in anchors:
            raise CorpusError(
                path, _key_line(lines, "care_sections"), f"care section {anchor!r} is not a section anchor"
            )
    _warn_about_link_labels(path, lines, body_start)
    return Article(
        slug=slug,
        title=title.strip(),
        kind=kind,
        url=url,
        sections=sections,
        source=meta.get("source"),
        care_sections=care,
    )


def _title(path: Path, lines: list[str], meta: dict) -> str:
    """The front matter's title, or an error that says what is wrong with it."""
    title = meta.get("title")
    line = _key_line(lines, "title")
    if title is None:
        raise CorpusError(path, line, "missing or empty 'title' in front matter")
    if not isinstance(title, str):
        # YAML reads `title: 12345` as a number and `title: 2024-01-31` as a date.
        raise CorpusError(
            path,
            line,
            f"'title' must be text, not {_kind_of(title)} ({title!r}); put it in quotes if that is really the title",
        )
    if not title.strip():
        raise CorpusError(path, line, "missing or empty 'title' in front matter")
    return title


def _kind_of(value: object) -> str:
    """What a value that should have been text is, in an editor's words (bool before int: a bool is one)."""
    kinds = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return next(
        (name for kind, name in kinds.items() if isinstance(value, kind)),
        "a date" if hasattr(value, "isoformat") else type(value).__name__,
    )


def _warn_about_link_labels(path: Path, lines: list[str], body_start: int) -> None:
    """Warn about link labels of the scraped site ("Read more"): page furniture, not article text."""
    for number in range(body_start, len(lines)):
        for found in _LINK_LABEL.finditer(lines[number]):
            warnings.warn(
                CorpusWarning(
                    path,
                    number + 1,
                    f"{found.group(0).strip()!r} looks like a link label of the scraped page "
                    "(site chrome, not the publisher's text); remove it",
                ),
                stacklevel=2,
            )


def _front_matter(path: Path, lines: list[str]) -> tuple[dict, int]:
    if not lines or lines[0].strip() != "---":
        raise CorpusError(path, 1, "front matter must start with '---' on the first line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise CorpusError(path, 1, "front matter is not closed by a '---' line") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise CorpusError(path, line, f"broken front matter: {problem}") from None
    if not isinstance(meta, dict):
        raise CorpusError(path, 2, "front matter must be a mapping of 'key: value' lines")
    return meta, end + 1


def _key_line(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, start=1):
        if line.startswith(f"{key}:"):
            return number
        if number > 1 and line.strip() == "---":
            return 1
    return 1


def _str_list(path: Path, lines: list[str], meta: dict, key: str) -> list[str]:
    value = meta.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CorpusError(path, _key_line(lines, key), f"'{key}' must be a list of strings")
    return value


def _sections(path: Path, lines: list[str], start: int, editorial: set[str]) -> tuple[Section, ...]:
    drafts: list[tuple[str, list[str], int]] = []
    for number in range(start, len(lines)):
        line = lines[number]
        heading = _HEADING.match(line)
        if heading:
            drafts.append((heading.group(2).strip(), [], number + 1))
        elif line.strip():
            if not drafts:
                raise CorpusError(path, number + 1, "text before the first '## ' section heading")
            drafts[-1][1].append(line)
        elif drafts:
            drafts[-1][1].append("")
    if not drafts:
        raise CorpusError(path, start + 1, "empty body: no '## ' section with text")
    sections, anchors = [], _AnchorMaker()
    for title, body, first_line in drafts:
        blocks = parse_blocks(body, paragraph_break="blank")
        if not blocks:
            raise CorpusError(path, first_line, f"section {title!r} has no text")
        sections.append(Section(heading=title, anchor=anchors.make(title), blocks=blocks, editorial=title in editorial))
    return tuple(sections)


class _AnchorMaker:
    """Slugified headings, made unique in an article with -2, -3 for repeats."""

    def __init__(self) -> None:
        self._used: dict[str, int] = {}

    def make(self, heading: str) -> str:
        base = slugify(heading)
        count = self._used.get(base, 0) + 1
        self._used[base] = count
        return base if count == 1 else f"{base}-{count}"


def parse_blocks(lines: list[str], paragraph_break: str = "blank") -> tuple[Block, ...]:
    """Paragraphs with the list items that follow them.

    ``paragraph_break="blank"``: Markdown, paragraphs end at a blank line.
    ``paragraph_break="line"``: plain text (JSONL), every line is a paragraph.
    """
    blocks: list[Block] = []
    text: list[str] = []
    items: list[str] = []

    def flush() -> None:
        joined = " ".join(part.strip() for part in text).strip()
        if joined or items:
            blocks.append(Block(text=_clean(joined), items=tuple(_clean(i) for i in items)))
        text.clear()
        items.clear()

    # A blank line ends a paragraph, unless a list follows: the list belongs to the sentence
    # that introduces it ("Symptoms of prostate cancer:" + its items).
    pending_break = False
    for line in lines:
        item = _ITEM.match(line)
        if item and item.group(1).strip():
            items.append(item.group(1).strip())
            pending_break = False
        elif not line.strip():
            pending_break = paragraph_break == "blank"
        else:
            if items or pending_break or paragraph_break == "line":
                flush()
            pending_break = False
            text.append(line)
    flush()
    return tuple(b for b in blocks if b.text or b.items)


def _clean(text: str) -> str:
    """Runs of whitespace as one space (str.split's whitespace is the regex \\s class)."""
    return " ".join(text.split())


# --- JSONL ----------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterator[Article]:
    seen: dict[str, int] = {}
    with path.open("r", encoding="utf-8", errors="strict") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                article = _jsonl_article(path, number, line)
                if article.slug in seen:
                    raise CorpusError(
                        path, number, f"duplicate id {article.slug!r} (first on line {seen[article.slug]})"
                    )
                seen[article.slug] = number
                yield article
        except UnicodeDecodeError as exc:
            raise CorpusError(path, 0, f"not UTF-8 text ({exc.reason})") from None


def _jsonl_article(path: Path, number: int, line: str) -> Article:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(path, number, f"invalid JSON: {exc.msg}") from None
    if not isinstance(record, dict):
        raise CorpusError(path, number, "each line must be a JSON object")
    slug, title, text = record.get("id"), record.get("title"), record.get("text")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise CorpusError(path, number, "'id' must be a non-empty string of letters, digits, '-', '_' or '.'")
    if title is None or title == "":
        # Real data sets have untitled records (14 in MedQuAD); the id is an honest stand-in.
        title = slug
    if not isinstance(title, str):
        raise CorpusError(path, number, f"'title' must be text, not {_kind_of(title)}")
    if not title.strip():
        raise CorpusError(path, number, "'title' must not be blank")
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(path, number, "missing or empty 'text'")
    url = record.get("url") or None
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://", url)):
        raise CorpusError(path, number, "'url' must be an http(s) address")
    blocks = parse_blocks(text.split("\n"), paragraph_break="line")
    title = _clean(title)
    section = Section(heading=title, anchor=slugify(title), blocks=blocks)
    return Article(slug=slug, title=title, kind="article", url=url, sections=(section,))
