"""Highlighted snippets: the best window of a passage, HTML-escaped, matched words in <mark>.

Only our own <mark> tags survive: every piece of corpus text goes through html.escape.
Matching looks for the word starts the query's stems share with their indexed forms (str.find
on the lowercased passage, a C-speed scan per start), then stems each candidate word, so a
snippet costs a few scans and a few stems and a new question compiles nothing.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from html import escape

from service.index.schema import term_of

WINDOW_CHARS = 260
# The longest answering sentence shown whole (MedQuAD: 99% of sentences are shorter).
MAX_FOCUS_CHARS = 600
_WORD_EDGE_BEFORE = r"(?<![^\W_])"


class Highlighter:
    """Finds a query's words in any inflected form, from the index's own vocabulary.

    Each stem is searched for by the longest start its indexed forms share ("dizz" for dizzy,
    dizziness); every candidate word is then confirmed by stemming it, so "painting" is not
    marked for "pain".
    """

    def __init__(self, vocabulary: Iterable[str] = (), starts: Mapping[str, str] | None = None) -> None:
        """``starts`` as ``stem_starts`` made them (the build stores them in the version); without
        them they are computed here from the ``vocabulary``."""
        self._starts = dict(stem_starts(vocabulary) if starts is None else starts)

    def pattern(self, stems: Iterable[str]) -> Marker | None:
        stems = frozenset(stems)
        starts = sorted({self._starts[s] for s in stems if self._starts.get(s)}, key=len, reverse=True)
        return Marker(tuple(starts), stems) if starts else None


def stem_starts(vocabulary: Iterable[str]) -> dict[str, str]:
    """Each stem with the longest start its indexed forms share."""
    forms: dict[str, list[str]] = defaultdict(list)
    for word in vocabulary:
        term = term_of(word)
        if term is not None:
            forms[term].append(word)
    return {term: os.path.commonprefix([term, *words]) for term, words in forms.items()}


_WORD_CHAR = re.compile(r"[^\W_]")
_WORD_REST = re.compile(r"[^\W_]*")


class Marker:
    """The words of a text that belong to a query's stems."""

    def __init__(self, starts: tuple[str, ...], stems: frozenset[str]) -> None:
        self.starts, self.stems = starts, stems

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every whole word of ``text`` whose stem is one of the query's, in order."""
        lower = text.lower()
        if len(lower) != len(text):  # a few characters lowercase to two: offsets would drift
            return self._spans_by_regex(text)
        found = set()
        for start in self.starts:
            at = lower.find(start)
            while at >= 0:
                if at == 0 or not _WORD_CHAR.match(lower, at - 1):
                    rest = _WORD_REST.match(lower, at + len(start))
                    end = rest.end() if rest else at + len(start)  # [^\W_]* always matches
                    if term_of(lower[at:end]) in self.stems:
                        found.add((at, end))
                at = lower.find(start, at + len(start))
        return sorted(found)

    def _spans_by_regex(self, text: str) -> list[tuple[int, int]]:
        alternation = "|".join(re.escape(start) for start in self.starts)
        regex = re.compile(f"{_WORD_EDGE_BEFORE}(?:{alternation})[^\\W_]*", re.IGNORECASE)
        return [m.span() for m in regex.finditer(text) if term_of(m.group().lower()) in self.stems]


def snippet(
    text: str,
    pattern: Marker | None,
    window: int = WINDOW_CHARS,
    focus: tuple[int, int] | None = None,
    matches: list[tuple[int, int]] | None = None,
) -> str:
    """About ``window`` characters cut at word edges: from the ``focus`` (the answering sentence,
    kept whole) when one is given, else around the densest cluster of matches. ``matches`` are
    ``pattern.spans(text)`` when the caller has them already."""
    if matches is None:
        matches = pattern.spans(text) if pattern is not None else []
    start, end = _window(text, matches, window) if focus is None else _focus_window(text, focus, window)
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


def _focus_window(text: str, focus: tuple[int, int], window: int) -> tuple[int, int]:
    """The focus whole, then what follows it up to ``window`` characters; when the text ends
    first, what comes before it. Starting at the answer puts it where the eye lands; a sentence
    longer than the window is shown whole up to MAX_FOCUS_CHARS (an answer cut off is not one),
    then cut after the window like any text."""
    first, last = focus
    if last - first >= window:
        return first, last if last - first <= MAX_FOCUS_CHARS else _cut_end(text, first, first + MAX_FOCUS_CHARS)
    start = max(0, min(first, len(text) - window))
    end = min(len(text), start + window)
    if start < first:  # the text ends within the window: begin at a word edge before the focus
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else first
    return start, _cut_end(text, last, end)


def _cut_end(text: str, keep: int, end: int) -> int:
    """``end`` moved back to a space, not before ``keep``."""
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", keep, end)
    return space if space >= keep else max(keep, end)


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
