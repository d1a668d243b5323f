"""Every passage split into sentences, for the answering sentence of a snippet (index/sentences.py).

Sentence boundaries come from pysbd (rule-based, pure Python, no data to download): it knows
abbreviations, decimals and initials ("e.g.", "2.5 mg", "Dr."), which a split at every full stop
gets wrong. A passage's lines are split on their own: a line is a paragraph or a list item
("- item"), and an item is a sentence even without a full stop. Spans are found back in the text
in order, so they are exact character offsets whatever pysbd does with spacing.

pysbd is slow (about 3 ms a passage on MedQuAD, most of it compiling regular expressions), so a
line with no sentence end inside it (a list item, a heading-like line) is taken whole without
it, and a large corpus is split in forked processes, one part each (forked.py; how many the
indexer decides, as for the segments).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pysbd

from service.build.forked import run_parts
from service.index import schema as S

LIST_MARK = "- "
# A full stop, "!" or "?" with a space anywhere after it in the line (a citation such as ".[1] "
# between them): a sentence may end there. A line without one ends, if at all, in its last word:
# it is one sentence.
_INNER_END = re.compile(r"[.!?]\S*\s")


class SentenceSplitter:
    def __init__(self) -> None:
        self._segmenter = pysbd.Segmenter(language="en", clean=False)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """[start, end) of each sentence of ``text``, in order, without surrounding spaces or a
        list item's mark."""
        found: list[tuple[int, int]] = []
        line_start = 0
        for line in text.split("\n"):
            body = line_start + (len(LIST_MARK) if line.startswith(LIST_MARK) else 0)
            cursor = body
            content = text[body : line_start + len(line)]
            pieces = self._segmenter.segment(content) if _INNER_END.search(content.rstrip()) else [content]
            for piece in pieces:
                piece = piece.strip()
                at = text.find(piece, cursor, line_start + len(line)) if piece else -1
                if at >= 0:
                    found.append((at, at + len(piece)))
                    cursor = at + len(piece)
            line_start += len(line) + 1
        return found


def passage_sentences(stored: Sequence[dict], procs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(first, spans) as index/sentences.py stores them, for every stored passage in order; in
    ``procs`` processes (the caller has checked it may fork)."""
    texts = [fields[S.TEXT_FIELD] for fields in stored]
    size = -(-len(texts) // max(1, procs)) or 1
    parts = [texts[i : i + size] for i in range(0, len(texts), size)] or [texts]
    first = [0]
    spans: list[tuple[int, int]] = []
    for part in run_parts(_split_all, parts):
        for passage_spans in part:
            spans.extend(passage_spans)
            first.append(len(spans))
    return np.asarray(first, dtype=np.int32), np.asarray(spans, dtype=np.int32).reshape(-1, 2)


def _split_all(texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    splitter = SentenceSplitter()
    return [splitter.spans(text) for text in texts]


def sentence_texts(stored: Sequence[dict], first: np.ndarray, spans: np.ndarray) -> list[str]:
    """What is embedded for every sentence, in the order of ``spans``: its section's heading (the
    article's title for an untitled section), a colon, the sentence.

    The heading is what a list item or a short sentence is about: "Dysuria." alone means little to
    the model, "Issues related to Prostate: Dysuria." is an answer to "does prostate cancer make it
    hurt to pee". Measured on the tune half of the answering-sentence pairs (README): the best
    sentence of the whole corpus by meaning was the pair's 18 times of 31 with the heading, 17
    without.
    """
    texts: list[str] = []
    for row, fields in enumerate(stored):
        text, about = fields[S.TEXT_FIELD], fields[S.SECTION] or fields[S.TITLE]
        texts.extend(f"{about}: {text[start:end]}" for start, end in spans[first[row] : first[row + 1]])
    return texts
