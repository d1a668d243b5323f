"""What opening a version would otherwise work out from its passages, stored by the build.

Opening MedQuAD's version spent most of its seconds on three things that never change once a
version is built: reading the whole ``words`` lexicon out of Whoosh (the vocabulary and its
document frequencies: typo correction, prefixes), the longest start each stem's indexed forms
share (highlighting), and mining the frequent phrases the search box suggests. The build now
writes them here once:

    lexicon.json   {"words": [sorted unstemmed words], "df": [their document frequencies],
                    "stem_starts": {stem: start}}
    phrases.json   [[phrase, passages it is seen in], ...], most frequent first

Both are optional within index format 4: a version built before them has neither, and opening it
works them out as before (``read_lookups`` returns None; store.py falls back).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index

from service.index import schema as S
from service.index import version as V


@dataclass(frozen=True)
class Lookups:
    word_df: dict[str, int]
    stem_starts: dict[str, str]
    phrases: list[tuple[str, int]]


def write_lookups(folder: Path, lookups: Lookups) -> None:
    words = sorted(lookups.word_df)
    lexicon = {"words": words, "df": [lookups.word_df[w] for w in words], "stem_starts": lookups.stem_starts}
    (folder / V.LEXICON).write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")
    (folder / V.PHRASES).write_text(json.dumps(lookups.phrases, ensure_ascii=False), encoding="utf-8")


def read_lookups(folder: Path) -> Lookups | None:
    """The stored lookups, None for a version built before they were stored; a damaged file
    raises (ValueError, KeyError, TypeError), which refuses the version."""
    if not (folder / V.LEXICON).is_file() and not (folder / V.PHRASES).is_file():
        return None
    lexicon = json.loads((folder / V.LEXICON).read_text(encoding="utf-8"))
    words, df = lexicon["words"], lexicon["df"]
    if len(words) != len(df) or not all(isinstance(w, str) for w in words) or not all(isinstance(n, int) for n in df):
        raise ValueError(f"{V.LEXICON}: words and df do not match")
    starts = lexicon["stem_starts"]
    if not isinstance(starts, dict):
        raise ValueError(f"{V.LEXICON}: stem_starts is not a mapping")
    phrases = [(str(text), int(count)) for text, count in json.loads((folder / V.PHRASES).read_text(encoding="utf-8"))]
    return Lookups(word_df=dict(zip(words, df)), stem_starts=starts, phrases=phrases)


def stored_fields(folder: Path) -> list[dict]:
    """Every passage's stored fields, in Whoosh document order (row r of every array is document r)."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.reader() as reader:
            return [fields for _, fields in reader.iter_docs()]
    finally:
        ix.close()


def vocabulary(folder: Path) -> dict[str, int]:
    """The unstemmed words of the ``words`` field with their document frequencies."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.reader() as reader:
            return {_text(term): info.doc_frequency() for term, info in reader.iter_field(S.WORDS)}
    finally:
        ix.close()


def _text(term: object) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else str(term)
