"""The one search function the API, the HTML page and the CLI all call.

question -> QueryPlan (question.py) -> lexical scores over every passage (index/matrix.py), score
floor, coverage and entity bonuses, duplicates collapsed -> fused with the question's similarity
to every passage (semantic.py), answers told from merely related passages (_fused) -> the page
of Hits, each with its answering sentence (answers.py) and a snippet around it; related articles
when answers are few; the publisher's care advice when a warning sign is met, and an emergency
notice when the question describes one (urgent.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import numpy as np

from service.index.models import ArticleRef, CareAdvice, Hit, RelatedArticle, SearchResults, UrgentNotice
from service.index.scan import Bounds
from service.index.semantic import SemanticIndex
from service.query.answers import answer_in
from service.query.cache import ResultCache
from service.query.question import did_you_mean, plan_query, question_words
from service.query.snippets import Marker, snippet
from service.query.store import LoadedIndex
from service.safety.signs import Reading

# A passage must match query terms carrying at least this share of the question's
# informativeness (idf mass, unknown words included) to be an answer at all. Past a few terms
# the share required shrinks in proportion: a long message is not expected to be matched whole.
MIN_COVERAGE = 0.34
SHORT_QUESTION_TERMS = 4
# Passages matching more of what was asked rise above ones repeating one word.
COVERAGE_BONUS = 1.0
# Passages of an article or section the question names (entities.py) rise by this share.
ENTITY_BONUS = 0.5
# Hybrid ranking (tuned on the MedQuAD and consumer-message development sets, see README):
# the lexical score's share of the fused score, the semantic share being the rest.
LEXICAL_SHARE = 0.15
# Candidates taken from each side before fusing (more when a deeper page is asked for).
FUSION_CANDIDATES = 100
# Cosine a passage needs to be an answer by meaning alone (calibrated on the lay questions:
# in-corpus answers above, unrelated and uncovered questions below).
SEMANTIC_FLOOR = 0.3
# Cosine a passage matching the question's words needs to be an answer (see _fused).
WORDS_MEANING_FLOOR = 0.15
# Cosine that makes a passage's article related: close in meaning, not an answer.
RELATED_FLOOR = 0.23
# Words covering this share of the question's informativeness make an answer whatever the cosine.
CONFIDENT_COVERAGE = 0.75
# Related articles are offered when there are fewer answers than this, at most MAX_RELATED.
FEW_ANSWERS = 3
# How far below the closest answer's cosine a related article may be.
RELATED_SPAN = 0.3
MAX_RELATED = 3
MAX_LIMIT = 50
# offset + limit may not pass this: deep pages cost work and nobody reads them.
MAX_WINDOW = 500


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
    urgent: UrgentNotice | None
    related: tuple[RelatedArticle, ...] = ()


def search(index: LoadedIndex, request: SearchRequest, cache: ResultCache | None = None) -> SearchResults:
    """Ranked passages for a free-text question; never raises on any text.

    With a cache, a question whose words were ranked before on this version is answered from it;
    the response still echoes this request's own text, timing and "did you mean".
    """
    started = time.perf_counter()
    key = _cache_key(request)
    ranked = cast("Ranked | None", cache.get(index.version, key)) if cache is not None else None
    if ranked is None:
        ranked = _rank(index, request)
        if cache is not None:
            cache.put(index.version, key, ranked)
    return _results(request, ranked, started)


def cached_search(index: LoadedIndex, request: SearchRequest, cache: ResultCache) -> SearchResults | None:
    """The answer when the cache holds its ranking (cheap enough for the event loop), else None."""
    started = time.perf_counter()
    ranked = cast("Ranked | None", cache.get(index.version, _cache_key(request)))
    return None if ranked is None else _results(request, ranked, started)


def _cache_key(request: SearchRequest) -> tuple:
    """Everything the ranking depends on: the question's words (not their case or spacing) and,
    while typing, whether the last word is finished."""
    words = tuple(w for w, _, _ in question_words(request.q))
    typing = request.prefix and not request.q[-1:].isspace()
    return (words, typing, _mid_word(request), request.limit, request.offset, request.article, request.prefix)


def embeds_question(index: LoadedIndex, request: SearchRequest) -> bool:
    """Whether ranking this request runs the model (milliseconds of CPU, too long for an event loop)."""
    return index.semantic is not None and not _mid_word(request)


def _mid_word(request: SearchRequest) -> bool:
    """As-you-type, with the last word still being typed."""
    return request.prefix and request.q[-1:].isalnum()


def _results(request: SearchRequest, ranked: Ranked, started: float) -> SearchResults:
    return SearchResults(
        query=request.q,
        total=ranked.total,
        hits=ranked.hits,
        took_ms=(time.perf_counter() - started) * 1000.0,
        did_you_mean=did_you_mean(request.q, ranked.corrections),
        care_advice=ranked.care_advice,
        urgent=ranked.urgent,
        related=ranked.related,
    )


def _rank(index: LoadedIndex, request: SearchRequest) -> Ranked:
    plan = plan_query(request.q, index, prefix=request.prefix)
    # While a word is being typed the question stays lexical: a half-typed word embeds as noise,
    # and the box asks on every keystroke. A finished question (or one whose last word is
    # complete) gets the hybrid ranking; search.js asks it whole once typing pauses.
    semantic = index.semantic if embeds_question(index, request) else None
    question_vector = semantic.embed(request.q) if semantic else None
    allowed = _allowed_rows(index, request.article)
    lexical, eligible, covered = _lexical_scores(index, plan, allowed)
    related: tuple[RelatedArticle, ...] = ()
    needed = request.offset + request.limit
    if semantic is None or question_vector is None:
        rows = _top(np.flatnonzero(eligible), lexical, needed)
        row_scores, total = lexical[rows], int(np.count_nonzero(eligible))
    else:
        span = index.article_rows.get(request.article, (0, 0)) if request.article is not None else None
        meaning = Meaning(semantic, question_vector, semantic.bounds(question_vector, span))
        confident = eligible & (covered >= CONFIDENT_COVERAGE)  # only the hybrid path reads it
        fused = _fused(lexical, eligible, meaning, allowed, needed, confident)
        rows, row_scores, total = fused.rows, fused.scores, fused.total
        if request.article is None and total < FEW_ANSWERS:
            related = _related(index, fused)
    page = rows[request.offset : request.offset + request.limit]
    pattern = index.highlighter.pattern(plan.highlight) if len(page) else None
    # The answering sentence is chosen for a whole question only: while a word is being typed
    # the snippet stays where the words are, and the box's keystroke path costs what it did.
    stem_weights = _stem_weights(index, plan) if not _mid_word(request) and index.sentences is not None else None
    hits = tuple(
        _hit(index, int(r), float(score), pattern, stem_weights, question_vector)
        for r, score in zip(page, row_scores[request.offset : request.offset + request.limit])
    )
    # Care advice and the emergency check read the same clauses, embedded at most once.
    reading = read_question(index, request.q, question_vector)
    urgent = index.urgent.detect(reading)
    care = tuple(CareAdvice(passage=index.passages[r]) for r in index.care.rows_for(reading))
    return Ranked(
        hits=hits, total=total, corrections=plan.corrections, care_advice=care, urgent=urgent, related=related
    )


def _related(index: LoadedIndex, fused: Fused) -> tuple[RelatedArticle, ...]:
    """Up to MAX_RELATED articles near in meaning that none of the answers comes from, closest
    first: where to read on when no passage answers. Beside a close answer, an article must be
    within RELATED_SPAN of it: one passage answering well is not followed by whatever else
    cleared the floor."""
    answered = {index.passages[r].article.slug for r in fused.rows}
    floor = max(RELATED_FLOOR, fused.best_answer_meaning - RELATED_SPAN)
    best: dict[str, float] = {}
    for row, closeness in zip(fused.near_rows, fused.near_meaning):
        slug = index.passages[row].article.slug
        if slug not in answered and closeness >= floor and closeness > best.get(slug, -1.0):
            best[slug] = float(closeness)
    chosen = sorted(best, key=lambda slug: (-best[slug], slug))[:MAX_RELATED]
    return tuple(RelatedArticle(article=_article_ref(index, slug), score=best[slug]) for slug in chosen)


def _article_ref(index: LoadedIndex, slug: str) -> ArticleRef:
    start, _ = index.article_rows[slug]
    return index.passages[start].article


def _hit(
    index: LoadedIndex,
    row: int,
    score: float,
    pattern: Marker | None,
    stem_weights: dict[str, float] | None,
    question_vector: np.ndarray | None,
) -> Hit:
    """One result: its snippet built around its answering sentence when one is chosen."""
    text = index.passages[row].text
    matches = pattern.spans(text) if pattern is not None else []
    answer = None
    if stem_weights is not None and index.sentences is not None:
        answer = answer_in(index.sentences, row, text, matches, stem_weights, question_vector)
    focus = (answer.start, answer.end) if answer else None
    return Hit(
        passage=index.passages[row],
        score=score,
        snippet=snippet(text, pattern, focus=focus, matches=matches),
        answer=answer,
    )


def _stem_weights(index: LoadedIndex, plan) -> dict[str, float]:
    """Each stem the snippet marks, weighted by how informative it is (its idf)."""
    weights = {}
    for term in plan.highlight:
        col = index.matrix.column(term)
        if col is not None:
            weights[term] = float(index.matrix.idf[col])
    return weights


def read_question(index: LoadedIndex, text: str, question_vector: np.ndarray | None) -> Reading:
    """The question as the safety checks read it: by meaning only when it was embedded (a word
    still being typed is not)."""
    if question_vector is None or index.semantic is None:
        return Reading(text)
    return Reading(text, question_vector, index.semantic.embed_many, index.typos)


def _allowed_rows(index: LoadedIndex, article: str | None) -> np.ndarray:
    """Rows that may answer: the article's, when one is asked for; else every first copy."""
    if article is None:
        return index.not_duplicate  # near-identical passages collapse to their first copy
    allowed = np.zeros(index.passage_count, dtype=bool)
    start, end = index.article_rows.get(article, (0, 0))
    allowed[start:end] = True
    return allowed


def _lexical_scores(index: LoadedIndex, plan, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BM25F score of every passage with the coverage and entity bonuses, which pass the score
    floor (eligible), and the share of the question's informativeness each matches (coverage:
    see _fused for what it decides)."""
    matrix = index.matrix
    if not plan.cols or plan.total_mass <= 0:
        return np.zeros(matrix.n_docs), np.zeros(matrix.n_docs, dtype=bool), np.zeros(matrix.n_docs)
    scores = matrix.score(plan.cols, plan.weights)
    covered = matrix.coverage([(g.cols, g.mass) for g in plan.groups]) / plan.total_mass
    scores *= 1.0 + COVERAGE_BONUS * covered
    if plan.entity_rows:
        scores[np.unique(np.concatenate(plan.entity_rows))] *= 1.0 + ENTITY_BONUS
    required = MIN_COVERAGE * min(1.0, SHORT_QUESTION_TERMS / max(1, plan.term_count))
    eligible = (covered >= required) & (scores > 0) & allowed
    return scores, eligible, covered


def _top(candidates: np.ndarray, scores: np.ndarray, needed: int) -> np.ndarray:
    """The best ``needed`` candidates in order (ties by row); only those are sorted."""
    if len(candidates) > needed:
        candidates = candidates[np.argpartition(-scores[candidates], needed - 1)[:needed]]
    return candidates[np.lexsort((candidates, -scores[candidates]))]


class Meaning:
    """The question's cosine with the passages: bounds for every row (the int8 pre-scan, scan.py),
    exact float32 cosines for the rows the ranking asks about."""

    def __init__(self, semantic: SemanticIndex, question_vector: np.ndarray, bounds: Bounds) -> None:
        self._semantic, self._question = semantic, question_vector
        self.lower, self.upper, self._bounds_exact = bounds.lower, bounds.upper, bounds.exact

    def exact(self, rows: np.ndarray) -> np.ndarray:
        """The exact cosine of each row, in the order given (float64)."""
        if self._bounds_exact:
            return self.lower[rows].astype(np.float64)
        return self._semantic.cosines(self._question, rows).astype(np.float64)


@dataclass(frozen=True)
class Fused:
    """The hybrid ranking of one question: the answers in order with their scores and count, and
    the rows close in meaning without being answers (the related tier's candidates)."""

    rows: np.ndarray
    scores: np.ndarray
    total: int
    near_rows: np.ndarray
    near_meaning: np.ndarray
    best_answer_meaning: float  # the closest answer's cosine (-1 without answers)


def _fused(
    lexical: np.ndarray,
    eligible: np.ndarray,
    meaning: Meaning,
    allowed: np.ndarray,
    needed: int,
    confident: np.ndarray | None = None,
) -> Fused:
    """Hybrid order: the best lexical answers and the passages most similar in meaning, scored
    LEXICAL_SHARE × (lexical score / the best one) + (1 - LEXICAL_SHARE) × cosine.

    (Scoring a passage by its best sentence's cosine when higher was tried, index/sentences.py:
    it let a list of contents outrank the section it lists, and cost MedQuAD success@1, 0.718 →
    0.659 at full weight, 0.709 at half; README.)

    The cosine is used as it is, not stretched over the candidates (min-max): on a small corpus,
    or when every candidate is about equally close, stretching turns tiny differences in meaning
    into whole points and buries the passage that has the very words asked for.

    Two tiers. A passage is an answer if its meaning alone clears SEMANTIC_FLOOR; or if it passes
    the lexical floor and its cosine clears WORDS_MEANING_FLOOR; or if its words cover
    CONFIDENT_COVERAGE of the question's informativeness (``confident``). So a word shared with
    another subject no longer makes an answer of a passage about something else entirely, while
    an exact match of the words asked for, rare ones the model barely knows included ("kegel",
    "precum"), still does. A passage that is not an answer but whose cosine clears RELATED_FLOOR
    is "near": its article may be offered as related (_related).

    Only candidates get an exact cosine and a fused score: the lexical candidates, the rows the
    bounds cannot rule out of the best ``width`` by meaning, and (for the count) those the bounds
    leave on either side of a floor. So the answers and their count are what an exact scan of
    every vector gives.
    """
    width = max(FUSION_CANDIDATES, needed)
    confident = eligible if confident is None else confident
    by_words = _top(np.flatnonzero(eligible), lexical, width)
    reach = allowed & (meaning.upper >= RELATED_FLOOR)  # may be near, or an answer, by meaning
    sure = (
        confident | (allowed & (meaning.lower >= SEMANTIC_FLOOR)) | (eligible & (meaning.lower >= WORDS_MEANING_FLOOR))
    )
    maybe = (allowed & (meaning.upper >= SEMANTIC_FLOOR)) | (eligible & (meaning.upper >= WORDS_MEANING_FLOOR))
    pool = np.flatnonzero(reach)
    if len(pool) > width:  # below the width-th best lower bound, a row has width rows surely above it
        kth = len(pool) - width
        pool = pool[meaning.upper[pool] >= np.partition(meaning.lower[pool], kth)[kth]]
    unsure = np.flatnonzero(maybe & ~sure)
    rows = np.unique(np.concatenate((by_words, pool, unsure)))
    cosines = meaning.exact(rows)
    answers = _answers(cosines, eligible[rows], allowed[rows]) | confident[rows]

    def at(some: np.ndarray) -> np.ndarray:
        return np.searchsorted(rows, some)

    by_meaning = pool[answers[at(pool)] & (cosines[at(pool)] >= SEMANTIC_FLOOR)]
    by_meaning = by_meaning[np.lexsort((by_meaning, -cosines[at(by_meaning)]))[:width]]
    candidates = np.union1d(by_words[answers[at(by_words)]], by_meaning)
    near = pool[~answers[at(pool)] & (cosines[at(pool)] >= RELATED_FLOOR)]
    fused = np.zeros(len(candidates))
    if len(candidates):
        words = lexical[candidates] * eligible[candidates]
        fused = LEXICAL_SHARE * words / (words.max() or 1.0) + (1 - LEXICAL_SHARE) * cosines[at(candidates)]
    order = _top(np.arange(len(candidates)), fused, needed)
    total = int(np.count_nonzero(sure)) + int(np.count_nonzero(answers[at(unsure)]))
    return Fused(
        rows=candidates[order],
        scores=fused[order],
        total=total,
        near_rows=near,
        near_meaning=cosines[at(near)],
        best_answer_meaning=float(cosines[at(candidates)].max()) if len(candidates) else -1.0,
    )


def _answers(cosines: np.ndarray, eligible: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Which rows are answers, from their exact cosines (the two floors, see _fused)."""
    return allowed & ((cosines >= SEMANTIC_FLOOR) | (eligible & (cosines >= WORDS_MEANING_FLOOR)))
