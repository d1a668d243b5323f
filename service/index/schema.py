"""The Whoosh schema, what a passage becomes as a Whoosh document, and the one analysis pipeline.

Index-time and query-time analysis are the same functions, declared side by side here, so a
mismatch cannot creep in: ``analyze`` (stems, for ranking) and ``words`` (lowercased surface
words, for spelling, prefixes and suggestions). The Whoosh analyzers below wrap the same code.

The ranked fields (title, section heading, text) store each stem's positions (Whoosh's phrase
support), so adjacency is in the index too: the ranking's phrase bonus, like every other
statistic it uses, is derived from Whoosh's postings (build/weights.py).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache

from whoosh.analysis import STOP_WORDS, Token, Tokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.lang.porter2 import stem as _porter2

from service.index.models import Passage

# Field names: the only place they are spelled out.
ID_FIELD, SLUG, TITLE, URL, SECTION, ANCHOR, POSITION, TEXT_FIELD, WORDS, DUPKEY = (
    "id",
    "slug",
    "title",
    "url",
    "section",
    "anchor",
    "position",
    "text",
    "words",
    "dupkey",
)

# The fields ranked by BM25F, and their weights (title, section heading, passage text).
RANKED_FIELDS = (TITLE, SECTION, TEXT_FIELD)
FIELD_BOOSTS = {TITLE: 2.0, SECTION: 1.5, TEXT_FIELD: 1.0}

STOP = frozenset(STOP_WORDS)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MIN_LEN = 2


def plain_forms(text: str) -> str:
    """Compatibility forms as the plain characters they stand for (NFKC): fullwidth "ｆｅｖｅｒ" is
    "fever", the ligature in "ﬁt" is "fi". Case and punctuation are kept, for readers of the text
    itself (the safety checks' clauses) that must see the letters analysis sees."""
    return unicodedata.normalize("NFKC", text)


def normalize(text: str) -> str:
    """Unicode-normalised, lowercased text with typographic apostrophes made plain."""
    return plain_forms(text).replace("\u2019", "'").lower()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _porter2(word)


def word_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """(lowercased word, start, end) for every word of the original text."""
    # NFKC can change lengths; offsets refer to the text as given, so lowercase per match.
    for match in _WORD.finditer(text):
        yield normalize(match.group()), match.start(), match.end()


def every_word(text: str) -> list[str]:
    """All the words, one letter long too, normalised as ``words`` and ``analyze`` read them."""
    return _WORD.findall(normalize(text))


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
    """Whoosh view of ``analyze`` (stemmed=True) or ``words`` (stemmed=False).

    A token's position counts the tokens before it, so two stems are adjacent in the text (stop
    words aside) exactly when their positions differ by one.
    """

    def __init__(self, stemmed: bool = True) -> None:
        self.stemmed = stemmed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HealthAnalyzer) and other.stemmed == self.stemmed

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        # Indexing never needs offsets: then the whole text takes the fast path.
        terms = (
            self._with_offsets(value)
            if chars
            else ((word, 0, 0) for word in (analyze(value) if self.stemmed else words(value)))
        )
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


# The name Whoosh pickles into every segment's table of contents. Versions on disk name the class
# by its module before the move into service/index/, and service/schema.py keeps that name
# resolving; building under the same name keeps the index format unchanged in both directions.
HealthAnalyzer.__module__ = "service.schema"


def build_schema() -> Schema:
    """Stored fields are what the API returns; TEXT fields are analysed for search."""
    ranked, surface = HealthAnalyzer(stemmed=True), HealthAnalyzer(stemmed=False)
    return Schema(
        **{
            ID_FIELD: ID(stored=True, unique=True),
            SLUG: ID(stored=True),
            # Ranked fields keep positions (phrase=True): the phrase bonus is read from them.
            TITLE: TEXT(analyzer=ranked, stored=True, phrase=True, field_boost=FIELD_BOOSTS[TITLE]),
            URL: STORED(),
            SECTION: TEXT(analyzer=ranked, stored=True, phrase=True, field_boost=FIELD_BOOSTS[SECTION]),
            ANCHOR: STORED(),
            POSITION: STORED(),
            TEXT_FIELD: TEXT(analyzer=ranked, stored=True, phrase=True),
            # Unstemmed words of title, heading and text: the vocabulary for typo correction and
            # prefix expansion (edit distance is meaningless between stems).
            WORDS: TEXT(analyzer=surface, phrase=False),
            DUPKEY: STORED(),
        }
    )


def heading_of(passage: Passage) -> str:
    """The indexed section heading: empty when the section is the article itself."""
    return "" if passage.section == passage.article.title else passage.section


def dupkey_of(words: Sequence[str]) -> str:
    """Same key for passages of one topic that differ only in case, punctuation or spacing.

    Built from the words of title + text: the same paragraph under two different topics (MedQuAD
    repeats answers across diseases) answers two different questions and links to two pages, so
    both stay.
    """
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:16]


def stored_values(passage: Passage, dupkey: str) -> dict[str, object]:
    """What the index stores of one passage: everything a result, a page or a link needs."""
    return {
        ID_FIELD: passage.id,
        SLUG: passage.article.slug,
        TITLE: passage.article.title,
        URL: passage.article.url or "",
        SECTION: passage.section,
        ANCHOR: passage.anchor,
        POSITION: passage.position,
        TEXT_FIELD: passage.text,
        DUPKEY: dupkey,
    }


def passage_document(passage: Passage) -> dict[str, object]:
    """The Whoosh document of one passage, as ``add_document`` takes it.

    The section field indexes the heading (``heading_of``) but stores the section's name; the
    words field indexes the passage's distinct surface words. The fast segment writer
    (segment.py) writes exactly this, from analysis it has already done.
    """
    title_words, heading, text_words = words(passage.article.title), heading_of(passage), words(passage.text)
    document = stored_values(passage, dupkey_of(title_words + text_words))
    document[f"_stored_{SECTION}"] = passage.section
    document[SECTION] = heading
    document[WORDS] = " ".join(dict.fromkeys(title_words + words(heading) + text_words))
    return document
