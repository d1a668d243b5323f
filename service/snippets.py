"""Highlighted snippets: the best window of a passage, HTML-escaped, matched words in <mark>.

Only our own <mark> tags survive: every piece of corpus text goes through html.escape.
Matching is one compiled regex of the surface forms (from the index's own vocabulary) whose stem
the query asked for, so a snippet costs a C-speed scan instead of stemming every word.
"""
from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from html import escape
from typing import Iterable

from .schema import term_of

WINDOW_CHARS = 260
_WORD_EDGE_BEFORE = r"(?<![^\W_])"
_WORD_EDGE_AFTER = r"(?![^\W_])"


class Highlighter:
    """Knows which indexed surface words share a stem, to find a query's words in any form."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        forms: dict[str, list[str]] = defaultdict(list)
        for word in vocabulary:
            term = term_of(word)
            if term is not None:
                forms[term].append(word)
        self._forms = {term: tuple(sorted(words, key=len, reverse=True)) for term, words in forms.items()}
        self._compile = lru_cache(maxsize=4096)(self._pattern)

    def pattern(self, stems: Iterable[str]) -> re.Pattern | None:
        return self._compile(frozenset(stems))

    def _pattern(self, stems: frozenset[str]) -> re.Pattern | None:
        words = sorted({w for s in stems for w in self._forms.get(s, ())}, key=len, reverse=True)
        if not words:
            return None
        alternation = "|".join(re.escape(w) for w in words)
        return re.compile(f"{_WORD_EDGE_BEFORE}(?:{alternation}){_WORD_EDGE_AFTER}", re.IGNORECASE)


def snippet(text: str, pattern: re.Pattern | None, window: int = WINDOW_CHARS) -> str:
    """About ``window`` characters around the densest cluster of matches, cut at word edges."""
    matches = [m.span() for m in pattern.finditer(text)] if pattern is not None else []
    start, end = _window(text, matches, window)
    parts = ["\u2026 " if start > 0 else ""]
    cursor = start
    for s, e in matches:
        if s < start or e > end:
            continue
        parts.append(escape(text[cursor:s]))
        parts.append(f"<mark>{escape(text[s:e])}</mark>")
        cursor = e
    parts.append(escape(text[cursor:end]))
    if end < len(text):
        parts.append(" \u2026")
    return "".join(parts)


def _window(text: str, matches: list[tuple[int, int]], window: int) -> tuple[int, int]:
    if len(text) <= window:
        return 0, len(text)
    best_first, best_count, j = 0, 0, 0
    for i, (s, _) in enumerate(matches):  # two pointers: most matches within `window` chars
        while matches[j][0] < s - window:
            j += 1
        if i - j + 1 > best_count:
            best_count, best_first = i - j + 1, j
    if not matches:
        start = 0
    else:
        first = matches[best_first][0]
        last = matches[best_first + best_count - 1][1]
        start = max(0, min(len(text) - window, first - (window - (last - first)) // 2))
    end = min(len(text), start + window)
    # Cut at whitespace so no word is split.
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 40 else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, end
