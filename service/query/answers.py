"""The sentence of a passage that answers the question, for the snippet to be built around.

A passage found by meaning often opens with something else: the snippet used to show its start,
or a window around scattered question words, and the reader had to open the passage to find the
answer. Each sentence of a result is scored by meaning (its stored vector's cosine with the
question, index/sentences.py) plus the share of the question's informativeness its words match;
the best one is the answer. Only the results on the page are scored: a handful of int8 dot
products each, no model run.

Meaning leads because the words of a lay question are rarely the answer's (measured on the
development pairs in tests/data/answer_sentences.jsonl: see README); words break the ties meaning
leaves and choose alone when the version has no sentence vectors.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from service.index.models import Answer
from service.index.schema import term_of
from service.index.sentences import Sentences

# How much a sentence matching all of the question's informative words gains over one matching
# none, in cosine units (tuned on the tune half of the development pairs).
WORD_SHARE_WEIGHT = 0.3


def answer_in(
    sentences: Sentences,
    row: int,
    text: str,
    matches: list[tuple[int, int]],
    stem_weights: Mapping[str, float],
    question_vector: np.ndarray | None,
) -> Answer | None:
    """The best answering sentence of passage ``row`` (whose text is ``text`` and whose words
    matching the question are ``matches``), or None when the passage has no stored sentences."""
    spans = sentences.spans_of(row)
    if not spans:
        return None
    scores = _word_shares(text, spans, matches, stem_weights) * WORD_SHARE_WEIGHT
    cosines = sentences.cosines(row, question_vector) if question_vector is not None else None
    if cosines is not None:
        scores = scores + cosines
    best = int(np.argmax(scores))  # the first of equals: earlier sentences set the scene
    return Answer(*spans[best])


def _word_shares(
    text: str, spans: list[tuple[int, int]], matches: list[tuple[int, int]], stem_weights: Mapping[str, float]
) -> np.ndarray:
    """For each sentence, the share of the question's word weight its matched words carry (each
    stem counted once)."""
    total = sum(stem_weights.values()) or 1.0
    found: list[set[str]] = [set() for _ in spans]
    i = 0
    for start, end in matches:
        while i < len(spans) and spans[i][1] <= start:
            i += 1
        if i == len(spans):
            break
        if spans[i][0] <= start:
            term = term_of(text[start:end].lower())
            if term is not None:
                found[i].add(term)
    return np.array([sum(stem_weights.get(t, 0.0) for t in terms) / total for terms in found])
