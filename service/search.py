"""The one search function the API, the HTML page and the CLI all call.

question -> QueryPlan (question.py) -> first-pass scores over every passage (ranking.py) ->
score floor, coverage bonus, duplicates collapsed -> the page of Hits with snippets and, when a
warning sign is met, the publisher's care advice.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .models import CareAdvice, Hit, SearchResults
from .cache import ResultCache
from .question import did_you_mean, plan_query, question_words
from .schema import analyze
from .snippets import snippet
from .store import LoadedIndex

# A passage must match query terms carrying at least this share of the question's
# informativeness (idf mass, unknown words included) to be an answer at all. Past a few terms
# the share required shrinks in proportion: a long message is not expected to be matched whole.
MIN_COVERAGE = 0.34
SHORT_QUESTION_TERMS = 4
# Passages matching more of what was asked rise above ones repeating one word.
COVERAGE_BONUS = 1.0
# Passages of an article or section the question names (entities.py) rise by this share.
ENTITY_BONUS = 0.5
MAX_LIMIT = 50
# offset + limit may not pass this: deep pages cost work and nobody reads them.
MAX_WINDOW = 500
CARE_FROM_TOP = 3


@dataclass(frozen=True)
class SearchRequest:
    q: str
    limit: int = 10
    offset: int = 0
    article: str | None = None
    prefix: bool = False


@dataclass(frozen=True)
class Ranked:
    """What a search computes from the question's words: kept in the result cache."""
    hits: tuple[Hit, ...]
    total: int
    corrections: dict[int, str]
    care_advice: tuple[CareAdvice, ...]


def search(index: LoadedIndex, request: SearchRequest, cache: ResultCache | None = None) -> SearchResults:
    """Ranked passages for a free-text question; never raises on any text.

    With a cache, a question whose words were ranked before on this version is answered from it;
    the response still echoes this request's own text, timing and "did you mean".
    """
    started = time.perf_counter()
    key = _cache_key(request)
    ranked = cache.get(index.version, key) if cache is not None else None
    if ranked is None:
        ranked = _rank(index, request)
        if cache is not None:
            cache.put(index.version, key, ranked)
    return _results(request, ranked, started)


def cached_search(index: LoadedIndex, request: SearchRequest, cache: ResultCache) -> SearchResults | None:
    """The answer when the cache holds its ranking (cheap enough for the event loop), else None."""
    started = time.perf_counter()
    ranked = cache.get(index.version, _cache_key(request))
    return None if ranked is None else _results(request, ranked, started)


def _cache_key(request: SearchRequest) -> tuple:
    """Everything the ranking depends on: the question's words (not their case or spacing) and,
    while typing, whether the last word is finished."""
    words = tuple(w for w, _, _ in question_words(request.q))
    typing = request.prefix and not request.q[-1:].isspace()
    return (words, typing, request.limit, request.offset, request.article, request.prefix)


def _results(request: SearchRequest, ranked: Ranked, started: float) -> SearchResults:
    return SearchResults(query=request.q, total=ranked.total, hits=ranked.hits,
                         took_ms=(time.perf_counter() - started) * 1000.0,
                         did_you_mean=did_you_mean(request.q, ranked.corrections),
                         care_advice=ranked.care_advice)


def _rank(index: LoadedIndex, request: SearchRequest) -> Ranked:
    plan = plan_query(request.q, index, prefix=request.prefix)
    rows, total, scores = _ranked_rows(index, plan, request.article, request.offset + request.limit)
    page = rows[request.offset:request.offset + request.limit]
    pattern = index.highlighter.pattern(plan.highlight) if len(page) else None
    hits = tuple(Hit(passage=index.passages[r], score=float(scores[r]),
                     snippet=snippet(index.passages[r].text, pattern)) for r in page)
    return Ranked(hits=hits, total=total, corrections=plan.corrections,
                  care_advice=_care_advice(index, plan, rows, scores))


def _ranked_rows(index: LoadedIndex, plan, article: str | None,
                 needed: int) -> tuple[np.ndarray, int, np.ndarray]:
    """The best ``needed`` rows in order, how many rows are answers at all, and every score."""
    matrix = index.matrix
    if not plan.cols or plan.total_mass <= 0:
        return np.empty(0, dtype=np.int64), 0, np.empty(0)
    scores = matrix.score(plan.cols, plan.weights)
    covered = matrix.coverage([(g.cols, g.mass) for g in plan.groups]) / plan.total_mass
    scores *= 1.0 + COVERAGE_BONUS * covered
    if plan.entity_rows:
        scores[np.unique(np.concatenate(plan.entity_rows))] *= 1.0 + ENTITY_BONUS
    required = MIN_COVERAGE * min(1.0, SHORT_QUESTION_TERMS / max(1, plan.term_count))
    eligible = (covered >= required) & (scores > 0)
    if article is not None:
        start, end = index.article_rows.get(article, (0, 0))
        eligible[:start] = False
        eligible[end:] = False
    else:
        eligible &= index.not_duplicate  # near-identical passages collapse to their first copy
    candidates = np.flatnonzero(eligible)
    needed = max(needed, CARE_FROM_TOP)
    if len(candidates) > needed:  # partial sort: only the page's rows need ordering
        candidates = candidates[np.argpartition(-scores[candidates], needed - 1)[:needed]]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order], int(np.count_nonzero(eligible)), scores


def _care_advice(index: LoadedIndex, plan, rows: np.ndarray, scores: np.ndarray) -> tuple[CareAdvice, ...]:
    if not index.care.signs:
        return ()
    # Only strong top answers speak for the question, not a weak third match; a care section
    # lists every warning sign, so its own passage ranking high says nothing about the question.
    top = [r for r in rows[:CARE_FROM_TOP] if scores[r] >= 0.5 * scores[rows[0]] and r not in index.care.rows]
    passage_stems = [analyze(index.passages[r].text) for r in top]
    rows = index.care.rows_for(plan.question_stems, passage_stems)
    return tuple(CareAdvice(passage=index.passages[r]) for r in rows)
