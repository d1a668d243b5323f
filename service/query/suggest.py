"""Search-box suggestions: article titles, section headings and frequent corpus phrases.

Everything that does not depend on the typed text is computed once per index version (the
build mines the phrases, ``mine_phrases``; the ``Suggester`` is built when the version is
opened, store.py), so a call costs a few set look-ups: the box may ask on
every keystroke. Matching is per word, anywhere in the suggestion: the last typed word is a prefix
("bel" finds "Sharp pulling pain in belly button"), and each word may carry a typo ("sialadenitus"
finds "sialadenitis", "bellu" finds "belly").
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from service.index.links import article_link
from service.index.models import Passage
from service.index.schema import STOP, normalize, word_spans
from service.query.spelling import max_distance

MAX_SUGGEST_CHARS = 200
DEFAULT_SUGGESTIONS = 8
MAX_SUGGESTIONS = 20
MAX_PHRASE_WORDS = 3
# A run of words must occur in this many passages to be offered as a phrase; a single long word
# (often the medical term someone half remembers, like "sialadenitis") is offered from one.
PHRASE_MIN_PASSAGES = 2
TERM_MIN_CHARS = 6
MAX_PHRASES = 20_000
# Frequent phrases show up in any large enough slice of the corpus: mining an evenly spaced
# sample keeps a version's start-up to about a second however large the corpus grows.
PHRASE_SAMPLE_PASSAGES = 5_000
# A one-letter prefix can match much of the vocabulary: consider only its most frequent words.
MAX_EXPANSIONS = 400
_KIND_ORDER = {"title": 0, "section": 1, "phrase": 2}
# Phrases stop at sentence punctuation: "pain. Read" is not a phrase.
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"“”\n]+")


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "title" | "section" | "phrase"
    url: str | None = None

    def to_dict(self) -> dict:
        body: dict = {"text": self.text, "kind": self.kind}
        if self.url is not None:
            body["url"] = self.url
        return body


@dataclass(frozen=True)
class _Candidate:
    suggestion: Suggestion
    words: tuple[str, ...]
    weight: int  # passages a phrase occurs in (0 for titles and headings)


class Suggester:
    """Suggestions of one index version; built once, then read-only and safe to share."""

    # Bounds on one request's work, whatever is typed: the last few distinct words are matched (a
    # word typed a hundred times is one word; a box's suggestions never need more), and the indexed
    # words standing for them share one budget of expansions.
    MAX_WORDS = 5
    MAX_REQUEST_EXPANSIONS = MAX_EXPANSIONS

    def __init__(
        self,
        articles: Mapping[str, dict],
        passages: Iterable[Passage] = (),
        phrases: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        """``phrases`` are the version's frequent phrases as the build mined them (``mine_phrases``,
        stored in the version); without them they are mined here from ``passages``."""
        if phrases is None:
            phrases = mine_phrases(p.text for p in passages)
        # The order among equally good matches never changes: titles, headings, then phrases by
        # how many passages use them; shorter first. Candidates are numbered in that order, so
        # ranking a match sorts plain numbers.
        self._candidates = sorted(_titles_and_sections(articles) + _phrase_candidates(phrases), key=_static_key)
        postings: dict[str, set[int]] = defaultdict(set)
        starting: dict[str, set[int]] = defaultdict(set)  # candidates whose first word it is
        for at, candidate in enumerate(self._candidates):
            for word in candidate.words:
                postings[word].add(at)
            if candidate.words:
                starting[candidate.words[0]].add(at)
        self._postings = dict(postings)
        self._starting = dict(starting)
        self._vocab = sorted(postings)
        # A one- or two-letter prefix stands for thousands of words: its most used ones, ready.
        short: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self._vocab, key=lambda w: -len(postings[w])):
            for head in {word[:1], word[:2]}:
                if len(short[head]) < self.MAX_REQUEST_EXPANSIONS:
                    short[head].append(word)
        self._short_prefixes = dict(short)
        # Words cut to each length: a typo in a prefix is found among prefixes of that length.
        cut: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for word in self._vocab:
            for length in range(4, len(word) + 1):
                cut[length][word[:length]].append(word)
        self._cut = {length: dict(heads) for length, heads in cut.items()}
        # Typo candidates share the typed word's first letter (as in spelling.py): rapidfuzz holds
        # the GIL while it scans, so it scans one letter's words, not the whole vocabulary.
        by_initial: dict[str, list[str]] = defaultdict(list)
        for word in self._vocab:
            by_initial[word[0]].append(word)
        self._by_initial = dict(by_initial)
        heads_by_initial: dict[tuple[int, str], list[str]] = defaultdict(list)
        for length, heads in self._cut.items():
            for head in heads:
                heads_by_initial[length, head[0]].append(head)
        self._heads_by_initial = dict(heads_by_initial)

    def suggest(self, q: str, limit: int = DEFAULT_SUGGESTIONS) -> list[Suggestion]:
        """Up to ``limit`` suggestions for what is typed so far, best first; [] when nothing fits."""
        typed = [w for w, _, _ in word_spans(q)]
        if not typed:
            return []
        # While a word is being typed it is a prefix; after a space or punctuation it is whole.
        prefix = typed.pop() if q[-1:].isalnum() else None
        wanted = self._bounded_words(typed, prefix)
        budget = self.MAX_REQUEST_EXPANSIONS // (len(wanted) + (prefix is not None))
        matches = [self._whole_word(w, budget) for w in wanted]
        if prefix is not None:
            matches.append(self._prefix(prefix, budget))
        exact_sets = [self._union(self._postings, exact) for exact, _ in matches]
        found = set.intersection(
            *(found | self._union(self._postings, near) for found, (_, near) in zip(exact_sets, matches))
        )
        exact_everywhere = set.intersection(*exact_sets)
        at_start = self._union(self._starting, matches[0][0] | matches[0][1])
        seen: set[str] = set()
        out: list[Suggestion] = []
        for at in self._ranked(found, exact_everywhere, at_start):
            suggestion = self._candidates[at].suggestion
            key = " ".join(suggestion.text.lower().split())  # a heading that is also a phrase, once
            if key not in seen:
                seen.add(key)
                out.append(suggestion)
                if len(out) == limit:
                    break
        return out

    @staticmethod
    def _ranked(found: set[int], exact_everywhere: set[int], at_start: set[int]) -> Iterator[int]:
        """Matches best first: no typo needed before a typo; matching at the start before matching
        further in; then the static order (the candidate's number). Lazily, bucket by bucket."""
        for group in (exact_everywhere, found - exact_everywhere):
            yield from sorted(group & at_start)
            yield from sorted(group - at_start)

    def _bounded_words(self, typed: list[str], prefix: str | None) -> list[str]:
        """The whole words to match: content words (stop words only if nothing else was typed),
        each once, not the word being typed (its prefix match covers it), the last few only."""
        wanted = [w for w in typed if w not in STOP] or typed
        wanted = [w for w in dict.fromkeys(wanted) if w != prefix]
        keep = self.MAX_WORDS - (prefix is not None)
        return wanted[-keep:] if keep > 0 else []

    def _whole_word(self, word: str, budget: int) -> tuple[set[str], set[str]]:
        """Indexed words this typed word begins, and words within its typo distance."""
        exact = set(self._words_from(word, budget))
        near: set[str] = set()
        limit = max_distance(word)
        if limit and word.isalpha():
            near = {
                w
                for w, _, _ in process.extract(
                    word, self._by_initial.get(word[0], ()), scorer=OSA.distance, score_cutoff=limit, limit=budget
                )
            }
        return exact, near - exact

    def _prefix(self, prefix: str, budget: int) -> tuple[set[str], set[str]]:
        """Words starting with the prefix, and words whose start is within its typo distance."""
        exact = set(self._words_from(prefix, budget))
        near: set[str] = set()
        limit = max_distance(prefix)
        heads = self._cut.get(len(prefix))
        if limit and heads and prefix.isalpha():
            close = process.extract(
                prefix,
                self._heads_by_initial.get((len(prefix), prefix[0]), ()),
                scorer=OSA.distance,
                score_cutoff=limit,
                limit=budget,
            )
            near = {w for head, _, _ in close for w in heads[head]}
        return exact, near - exact

    def _words_from(self, prefix: str, budget: int) -> list[str]:
        """Indexed words starting with ``prefix``; past ``budget``, the most used ones."""
        if len(prefix) <= 2:
            return self._short_prefixes.get(prefix, [])[:budget]
        start = bisect_left(self._vocab, prefix)
        end = bisect_left(self._vocab, prefix + "\U0010ffff", start)
        found = self._vocab[start:end]
        if len(found) > budget:
            found = heapq.nlargest(budget, found, key=lambda w: len(self._postings[w]))
        return found

    @staticmethod
    def _union(postings: dict[str, set[int]], words: Iterable[str]) -> set[int]:
        out: set[int] = set()
        for word in words:
            out |= postings.get(word, set())
        return out


def _static_key(candidate: _Candidate) -> tuple:
    text = candidate.suggestion.text
    return (_KIND_ORDER[candidate.suggestion.kind], -candidate.weight, len(text), text)


def _titles_and_sections(articles: Mapping[str, dict]) -> list[_Candidate]:
    out: list[_Candidate] = []
    # A heading several articles share ("Summary") says nothing about any one of them.
    heading_articles = Counter(
        normalize(s["heading"])
        for meta in articles.values()
        for s in {normalize(s["heading"]): s for s in meta.get("sections", [])}.values()
    )
    for meta in articles.values():
        title = meta["title"]
        title_link = article_link(meta["slug"], meta.get("url"))
        out.append(_Candidate(Suggestion(title, "title", title_link), _words(title), 0))
        for section in meta.get("sections", []):
            heading = section["heading"]
            if heading_articles[normalize(heading)] > 1 or normalize(heading) == normalize(title):
                continue
            section_link = article_link(meta["slug"], meta.get("url"), section["anchor"])
            out.append(_Candidate(Suggestion(heading, "section", section_link), _words(heading), 0))
    return out


def mine_phrases(texts: Iterable[str]) -> list[tuple[str, int]]:
    """Runs of 1-3 words, not starting or ending with a stop word, seen in several passages, with
    the number of (sampled) passages each is seen in, most frequent first. The build stores them
    in the version, so opening one does not mine the corpus again.

    Words are counted as small integers (a run is one int) so that counting every run of a
    large corpus stays a matter of seconds.
    """
    ids: dict[str, int] = {}
    counts: Counter[int] = Counter()
    texts = list(texts)
    step = max(1, len(texts) // PHRASE_SAMPLE_PASSAGES)
    for text in texts[::step]:
        seen: set[int] = set()
        for clause in _CLAUSE.split(text):
            run = [w for w, _, _ in word_spans(clause)]
            codes = [ids.setdefault(w, len(ids) + 1) for w in run]
            edge = [len(w) >= 3 and w not in STOP and not w.isdigit() for w in run]
            for start, ok in enumerate(edge):
                if not ok:
                    continue
                key = codes[start]
                seen.add(key)
                for end in range(start + 1, min(start + MAX_PHRASE_WORDS, len(run))):
                    if not (edge[end] or run[end] in STOP):
                        break
                    key = key * _ID_SPACE + codes[end]
                    if edge[end]:
                        seen.add(key)
        counts.update(seen)
    words_of = {code: word for word, code in ids.items()}
    common = [
        (_decode(key, words_of), df)
        for key, df in counts.items()
        if df >= PHRASE_MIN_PASSAGES or (key < _ID_SPACE and len(words_of[key]) >= TERM_MIN_CHARS)
    ]
    common.sort(key=lambda item: (-item[1], item[0]))
    return [(" ".join(gram), df) for gram, df in common[:MAX_PHRASES]]


def _phrase_candidates(phrases: Sequence[tuple[str, int]]) -> list[_Candidate]:
    return [_Candidate(Suggestion(text, "phrase"), tuple(text.split(" ")), df) for text, df in phrases]


_ID_SPACE = 1 << 32  # word ids stay below this, so a run's int spells its words uniquely


def _decode(key: int, words_of: dict[int, str]) -> tuple[str, ...]:
    out = []
    while key:
        key, code = divmod(key, _ID_SPACE)
        out.append(words_of[code])
    return tuple(reversed(out))


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w, _, _ in word_spans(text))
