"""The Whoosh schema and the one analysis pipeline used at index and query time.

Index-time and query-time analysis are the same functions, declared side by side here, so a
mismatch cannot creep in: ``analyze`` (stems, for ranking) and ``words`` (lowercased surface
words, for spelling, prefixes and suggestions). The Whoosh analyzers below wrap the same code.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterator

from whoosh.analysis import STOP_WORDS, Token, Tokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.lang.porter2 import stem as _porter2

# Field names: the only place they are spelled out.
ID_FIELD, SLUG, TITLE, URL, SECTION, ANCHOR, POSITION, TEXT_FIELD, WORDS, DUPKEY = (
    "id", "slug", "title", "url", "section", "anchor", "position", "text", "words", "dupkey")

# Weights of the BM25F fields (title, section heading, passage text), shared with ranking.
FIELD_BOOSTS = {TITLE: 2.0, SECTION: 1.5, TEXT_FIELD: 1.0}

STOP = frozenset(STOP_WORDS)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MIN_LEN = 2


def normalize(text: str) -> str:
    """Unicode-normalised, lowercased text with typographic apostrophes made plain."""
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").lower()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _porter2(word)


def word_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """(lowercased word, start, end) for every word of the original text."""
    # NFKC can change lengths; offsets refer to the text as given, so lowercase per match.
    for match in _WORD.finditer(text):
        yield normalize(match.group()), match.start(), match.end()


def words(text: str) -> list[str]:
    """Surface words (lowercased, stop words kept): the spelling/prefix vocabulary."""
    return [w for w in _WORD.findall(normalize(text)) if len(w) >= _MIN_LEN]


def analyze(text: str) -> list[str]:
    """Stems of the content words, in order: what ranking and matching compare."""
    return [stem(w) for w in _WORD.findall(normalize(text)) if len(w) >= _MIN_LEN and w not in STOP]


def term_of(word: str) -> str | None:
    """The ranking term of one lowercased word, or None for a stop word or a fragment."""
    if len(word) < _MIN_LEN or word in STOP:
        return None
    return stem(word)


class HealthAnalyzer(Tokenizer):
    """Whoosh view of ``analyze`` (stemmed=True) or ``words`` (stemmed=False)."""

    def __init__(self, stemmed: bool = True) -> None:
        self.stemmed = stemmed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HealthAnalyzer) and other.stemmed == self.stemmed

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        # Indexing never needs offsets: then the whole text takes the fast path.
        terms = self._with_offsets(value) if chars else (
            (word, 0, 0) for word in (analyze(value) if self.stemmed else words(value)))
        for pos, (word, start, end) in enumerate(terms, start=start_pos):
            token.text = word
            token.stopped = False
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token

    def _with_offsets(self, value: str) -> Iterator[tuple[str, int, int]]:
        for word, start, end in word_spans(value):
            if len(word) < _MIN_LEN or (self.stemmed and word in STOP):
                continue
            yield (stem(word) if self.stemmed else word), start, end


def build_schema() -> Schema:
    """Stored fields are what the API returns; TEXT fields are analysed for search."""
    stemmed, surface = HealthAnalyzer(stemmed=True), HealthAnalyzer(stemmed=False)
    return Schema(**{
        ID_FIELD: ID(stored=True, unique=True),
        SLUG: ID(stored=True),
        # No positions in any text field: phrase matching is done by the ranking matrix's
        # word-pair columns.
        TITLE: TEXT(analyzer=stemmed, stored=True, phrase=False, field_boost=FIELD_BOOSTS[TITLE]),
        URL: STORED(),
        SECTION: TEXT(analyzer=stemmed, stored=True, phrase=False, field_boost=FIELD_BOOSTS[SECTION]),
        ANCHOR: STORED(),
        POSITION: STORED(),
        TEXT_FIELD: TEXT(analyzer=stemmed, stored=True, phrase=False),
        # Unstemmed words of title, heading and text: the vocabulary for typo correction and
        # prefix expansion (edit distance is meaningless between stems).
        WORDS: TEXT(analyzer=surface, phrase=False),
        DUPKEY: STORED(),
    })
