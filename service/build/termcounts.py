"""One analysis pass over the passages: the token ids of every indexed field, for the segment writer.

Each passage is analysed here once (``schema.words`` / ``schema.term_of``) into integer token ids
per field, in text order (a token's place in its row is its Whoosh position), so that segment.py
can hand Whoosh whole posting lists instead of analysing passage by passage. Nothing else reads
these counts: the ranking is derived from the Whoosh index written from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.index import schema as S
from service.index.models import Passage
from service.index.schema import RANKED_FIELDS, dupkey_of, heading_of


@dataclass(frozen=True)
class TokenRows:
    """Token ids of every passage, concatenated: row ``r`` is ``ids[indptr[r]:indptr[r + 1]]``."""

    ids: np.ndarray
    indptr: np.ndarray

    @property
    def rows(self) -> np.ndarray:
        """The passage row of every token."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)


@dataclass(frozen=True)
class TermCounts:
    terms: list[str]  # stemmed vocabulary; a term's id is its index
    fields: dict[str, TokenRows]  # title, section heading, text: term ids in text order
    words: list[str]  # unstemmed vocabulary (spelling, prefixes)
    word_rows: TokenRows  # each passage's distinct words, first occurrence order
    dupkeys: list[str]


class _Counter:
    def __init__(self) -> None:
        self.terms: dict[str, int] = {}
        self.words: dict[str, int] = {}
        # surface word -> term id (-1 for a stop word): stemming runs once per distinct word
        self.term_of_word: dict[str, int] = {}
        self.field_ids: dict[str, list[int]] = {f: [] for f in RANKED_FIELDS}
        self.field_ptr: dict[str, list[int]] = {f: [0] for f in RANKED_FIELDS}
        self.word_ids: list[int] = []
        self.word_ptr: list[int] = [0]
        self.dupkeys: list[str] = []
        self.last_title: tuple[str, list[str]] = ("", [])

    def add(self, passage: Passage) -> None:
        surface = {
            S.TITLE: self._title_words(passage.article.title),
            S.SECTION: S.words(heading_of(passage)),
            S.TEXT_FIELD: S.words(passage.text),
        }
        for name in RANKED_FIELDS:
            ids = self.field_ids[name]
            ids.extend(t for t in self._term_ids(surface[name]) if t >= 0)
            self.field_ptr[name].append(len(ids))
        distinct = dict.fromkeys(surface[S.TITLE] + surface[S.SECTION] + surface[S.TEXT_FIELD])
        words = self.words
        self.word_ids.extend(words.setdefault(w, len(words)) for w in distinct)
        self.word_ptr.append(len(self.word_ids))
        self.dupkeys.append(dupkey_of(surface[S.TITLE] + surface[S.TEXT_FIELD]))

    def _title_words(self, title: str) -> list[str]:
        # Passages of one article arrive together and share its title.
        if title != self.last_title[0]:
            self.last_title = (title, S.words(title))
        return self.last_title[1]

    def _term_ids(self, words: list[str]) -> list[int]:
        cache = self.term_of_word
        try:
            return [cache[w] for w in words]
        except KeyError:
            for word in words:
                if word not in cache:
                    term = S.term_of(word)
                    cache[word] = -1 if term is None else self.terms.setdefault(term, len(self.terms))
            return [cache[w] for w in words]

    def result(self) -> TermCounts:
        return TermCounts(
            terms=list(self.terms),
            fields={f: _rows(self.field_ids[f], self.field_ptr[f]) for f in RANKED_FIELDS},
            words=list(self.words),
            word_rows=_rows(self.word_ids, self.word_ptr),
            dupkeys=self.dupkeys,
        )


def count_terms(passages: Sequence[Passage]) -> TermCounts:
    """Analyse each passage once into token ids: what ``schema.passage_document`` indexes."""
    counter = _Counter()
    for passage in passages:
        counter.add(passage)
    return counter.result()


def _rows(ids: list[int], indptr: list[int]) -> TokenRows:
    return TokenRows(ids=np.asarray(ids, dtype=np.int64), indptr=np.asarray(indptr, dtype=np.int64))
