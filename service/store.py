"""Open one published index version: everything a query needs, loaded once.

A LoadedIndex is immutable after opening; a newer version is opened beside it and swapped in by
the IndexHolder (see reloading.py), so a request in flight keeps the version it started on.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index

from . import schema as S
from .indexer import MANIFEST, SYNONYMS, read_manifest
from .models import ArticleRef, Passage
from .ranking import MATRIX_FILE, TermMatrix
from .care import CareSigns
from .snippets import Highlighter
from .spelling import Speller
from .synonyms import SynonymMap, parse_synonyms


class IndexUnavailable(RuntimeError):
    """No usable index at the given place (missing, half-written or corrupt)."""


@dataclass
class LoadedIndex:
    version: str
    path: Path
    manifest: dict
    matrix: TermMatrix
    passages: list[Passage]
    synonyms: SynonymMap
    # Unstemmed vocabulary with document frequencies: typo correction and prefix expansion.
    word_df: dict[str, int]
    sorted_words: list[str]
    article_rows: dict[str, tuple[int, int]]
    articles: dict[str, dict]
    speller: Speller
    highlighter: Highlighter
    care: CareSigns

    @property
    def passage_count(self) -> int:
        return len(self.passages)

    def words_with_prefix(self, prefix: str, limit: int) -> list[str]:
        """The ``limit`` most frequent indexed words starting with ``prefix``."""
        start = bisect_left(self.sorted_words, prefix)
        found = []
        for word in self.sorted_words[start:]:
            if not word.startswith(prefix):
                break
            found.append(word)
        found.sort(key=lambda w: -self.word_df[w])
        return found[:limit]


def open_version(path: Path) -> LoadedIndex:
    """Load a version directory written by indexer.build_index, or raise IndexUnavailable."""
    path = Path(path)
    try:
        manifest = read_manifest(path)
        matrix = TermMatrix(path / MATRIX_FILE)
        ix = whoosh_index.open_dir(str(path))
        try:
            with ix.searcher() as searcher:
                reader = searcher.reader()
                stored = {fields[S.ID_FIELD]: fields for _, fields in reader.iter_docs()}
                word_df = {_text(term): info.doc_frequency() for term, info in reader.iter_field(S.WORDS)}
        finally:
            ix.close()
        synonyms = parse_synonyms((path / SYNONYMS).read_text(encoding="utf-8"))
    except Exception as exc:  # any failure to read means this version cannot serve
        raise IndexUnavailable(f"cannot open index version {path.name}: {type(exc).__name__}: {exc}") from exc
    passages = _passages(matrix.passage_ids, stored, path)
    articles = {a["slug"]: a for a in manifest.get("article_meta", [])}
    return LoadedIndex(
        version=manifest.get("version", path.name), path=path, manifest=manifest, matrix=matrix,
        passages=passages, synonyms=synonyms, word_df=word_df, sorted_words=sorted(word_df),
        article_rows=_article_rows(passages), articles=articles,
        speller=Speller(word_df), highlighter=Highlighter(word_df), care=CareSigns(passages, articles),
    )


def _text(term: object) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else str(term)


def _passages(ids: list[str], stored: dict[str, dict], path: Path) -> list[Passage]:
    refs: dict[str, ArticleRef] = {}
    passages = []
    for pid in ids:
        fields = stored.get(pid)
        if fields is None:
            raise IndexUnavailable(f"index version {path.name} is inconsistent: passage {pid} missing")
        slug = fields[S.SLUG]
        ref = refs.get(slug)
        if ref is None:
            ref = refs[slug] = ArticleRef(slug=slug, title=fields[S.TITLE], url=fields[S.URL] or None)
        passages.append(Passage(id=pid, article=ref, section=fields[S.SECTION], anchor=fields[S.ANCHOR],
                                position=fields[S.POSITION], text=fields[S.TEXT_FIELD]))
    return passages


def _article_rows(passages: list[Passage]) -> dict[str, tuple[int, int]]:
    rows: dict[str, tuple[int, int]] = {}
    for row, p in enumerate(passages):
        start, _ = rows.get(p.article.slug, (row, row))
        rows[p.article.slug] = (start, row + 1)
    return rows
