"""Article -> Passages: section-bounded chunks of roughly 40-150 words with stable ids.

Passages never cross a section, a list stays with the sentence that introduces it, tiny
fragments are merged and long sections are split at paragraph, then sentence, boundaries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from service.index.models import Article, ArticleRef, Block, Passage, Section

MIN_WORDS = 40
MAX_WORDS = 150
# A passage may grow past MAX_WORDS to avoid leaving a fragment below MIN_WORDS behind.
HARD_MAX_WORDS = 200
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def chunk_articles(articles: Iterable[Article]) -> list[Passage]:
    return [p for article in articles for p in chunk_article(article)]


def chunk_article(article: Article) -> list[Passage]:
    """The article's passages in reading order, positions counted across the article."""
    ref = ArticleRef(slug=article.slug, title=article.title, url=article.url)
    passages: list[Passage] = []
    used_ids: set[str] = set()
    for section in article.sections:
        for text in section_chunks(section):
            pid = _unique(passage_id(article.slug, section.anchor, text), used_ids)
            passages.append(
                Passage(
                    id=pid,
                    article=ref,
                    section=section.heading,
                    anchor=section.anchor,
                    position=len(passages),
                    text=text,
                )
            )
    return passages


def passage_id(slug: str, anchor: str, text: str) -> str:
    """Stable while the article, section and text are unchanged; differs across articles."""
    digest = hashlib.sha1(f"{slug}\x00{anchor}\x00{text}".encode()).hexdigest()
    return digest[:16]


def section_chunks(section: Section) -> list[str]:
    """Texts of a section's passages, packed greedily from indivisible units."""
    units = [u for block in section.blocks for u in _units(block)]
    chunks: list[list[str]] = []
    words: list[int] = []
    for unit in units:
        size = _count(unit)
        if chunks and (words[-1] + size <= MAX_WORDS or (words[-1] < MIN_WORDS and words[-1] + size <= HARD_MAX_WORDS)):
            chunks[-1].append(unit)
            words[-1] += size
        else:
            chunks.append([unit])
            words.append(size)
    if len(chunks) > 1 and words[-1] < MIN_WORDS and words[-2] + words[-1] <= HARD_MAX_WORDS:
        chunks[-2].extend(chunks.pop())
        words[-1] += words.pop()
    return ["\n\n".join(chunk) for chunk in chunks]


def _units(block: Block) -> list[str]:
    """A block as pieces no longer than MAX_WORDS where it can be helped.

    A paragraph with its list is one unit; a long one is split into sentences, and a long list
    into groups of items, the first group staying with the introducing sentence.
    """
    if _count(block.full_text) <= MAX_WORDS:
        return [block.full_text]
    units = _split_sentences(block.text) if block.text else []
    # The introducing sentence opens the first group of items; later groups stand alone.
    group: list[str] = [units.pop()] if units and block.items else []
    has_item = False
    for item in block.items:
        line = "- " + item
        if has_item and _count("\n".join(group)) + _count(line) > MAX_WORDS:
            units.append("\n".join(group))
            group, has_item = [], False
        group.append(line)
        has_item = True
    if group:
        units.append("\n".join(group))
    return units


def _split_sentences(text: str) -> list[str]:
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if pieces and _count(pieces[-1]) + _count(sentence) <= MAX_WORDS:
            pieces[-1] = f"{pieces[-1]} {sentence}"
        else:
            pieces.append(sentence)
    return pieces


def _count(text: str) -> int:
    return len(text.split())


def _unique(pid: str, used: set[str]) -> str:
    candidate, n = pid, 1
    while candidate in used:
        n += 1
        candidate = f"{pid}-{n}"
    used.add(candidate)
    return candidate
