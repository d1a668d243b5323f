"""Highlighted snippets: the best window of a passage, HTML-escaped, matched words in <mark>.

Only our own <mark> tags survive: every piece of corpus text goes through html.escape.
"""
from __future__ import annotations

from html import escape

from .schema import term_of, word_spans

WINDOW_WORDS = 40


def snippet(text: str, stems: frozenset[str] | set[str], window: int = WINDOW_WORDS) -> str:
    spans = list(word_spans(text))
    if not spans:
        return escape(text)
    marked = [term_of(word) in stems for word, _, _ in spans]
    start = _best_window(marked, window)
    end = min(len(spans), start + window)
    first = spans[start][1] if start else 0
    last = spans[end - 1][2] if end < len(spans) else len(text)
    parts = ["\u2026 " if start else ""]
    cursor = first
    for (word, s, e), hit in zip(spans[start:end], marked[start:end]):
        if hit:
            parts.append(escape(text[cursor:s]))
            parts.append(f"<mark>{escape(text[s:e])}</mark>")
            cursor = e
    parts.append(escape(text[cursor:last]))
    if end < len(spans):
        parts.append(" \u2026")
    return "".join(parts)


def _best_window(marked: list[bool], window: int) -> int:
    if len(marked) <= window:
        return 0
    count = best = sum(marked[:window])
    best_start = 0
    for start in range(1, len(marked) - window + 1):
        count += marked[start + window - 1] - marked[start - 1]
        if count > best:
            best, best_start = count, start
    # Centre the matches in the window so they read in context.
    hits = [i for i in range(best_start, best_start + window) if marked[i]]
    if not hits:
        return 0
    slack = window - (hits[-1] - hits[0] + 1)
    return max(0, min(len(marked) - window, hits[0] - slack // 2))
