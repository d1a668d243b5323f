"""Open one published index version: everything a query needs, loaded once and never changed.

A LoadedIndex is frozen; a newer version is opened beside it and swapped in by the IndexHolder
(reloading.py), so a request in flight keeps the version it started on. Everything derived from
the version (speller, highlighter, care signs, suggestions, the site's topics) is built here,
before it serves.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.index import schema as S
from service.index import version as V
from service.index.embedding import Encoder
from service.index.frozen import frozen
from service.index.lookups import read_lookups, stored_fields, vocabulary
from service.index.matrix import MatrixArrays, TermMatrix
from service.index.models import ArticleRef, Passage
from service.index.semantic import SemanticIndex, open_semantic
from service.index.sentences import Sentences, read_sentences
from service.query.entities import EntityIndex
from service.query.snippets import Highlighter
from service.query.spelling import Speller
from service.query.suggest import Suggester
from service.query.synonyms import SynonymMap, parse_synonyms
from service.query.topics import Topic, site_topics
from service.safety.care import CareSigns, parse_care_words, warning_signs
from service.safety.signs import Contrast, Probe, TypoFixer
from service.safety.urgent import UrgentDetector, parse_rules


class IndexUnavailable(RuntimeError):
    """No usable index at the given place (missing, half-written, corrupt or of another format)."""


@dataclass(frozen=True)
class LoadedIndex:
    version: str
    manifest: V.Manifest
    matrix: TermMatrix
    passages: list[Passage]  # row r of the matrix is passages[r] (Whoosh document r)
    not_duplicate: np.ndarray  # False for a passage repeating an earlier one's words
    synonyms: SynonymMap
    # Unstemmed vocabulary with document frequencies: typo correction and prefix expansion.
    word_df: dict[str, int]
    sorted_words: list[str]
    article_rows: dict[str, tuple[int, int]]
    articles: dict[str, dict]
    speller: Speller
    highlighter: Highlighter
    care: CareSigns
    suggester: Suggester
    entities: EntityIndex
    semantic: SemanticIndex | None  # None: lexical only (no vectors, or no matching model)
    sentences: Sentences | None  # None: a version built before sentences were stored
    topics: list[Topic]  # the site's topics, linked as this service's pages link them
    urgent: UrgentDetector
    typos: TypoFixer | None  # misspellings put right for the safety checks (with a model)

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


def open_current(index_dir: Path, encoder: Encoder | None = None) -> LoadedIndex:
    """The version DIR/CURRENT names, or IndexUnavailable when none is published."""
    name = V.current_version(index_dir)
    if name is None:
        raise IndexUnavailable(f"no index has been built in {index_dir}")
    return open_version(V.version_path(index_dir, name), encoder)


def open_version(path: Path, encoder: Encoder | None = None) -> LoadedIndex:
    """Load a version directory written by the build, or raise IndexUnavailable.

    ``encoder`` is the serving model: the version's vectors are used only if it made them.
    Everything is read or built inside one error boundary, so a bad version is refused whole
    (one exception, one log line by the caller) and never half-loaded.
    """
    path = Path(path)
    try:
        return _open(path, encoder)
    except IndexUnavailable:
        raise
    except Exception as exc:  # any failure to read means this version cannot serve
        raise IndexUnavailable(f"cannot open index version {path.name}: {type(exc).__name__}: {exc}") from exc


def _open(path: Path, encoder: Encoder | None) -> LoadedIndex:
    manifest = V.read_manifest(path)
    if manifest.format != V.FORMAT:
        raise ValueError(f"format {manifest.format}, this release reads {V.FORMAT}: rebuild the index")
    matrix = TermMatrix(MatrixArrays.load(path / V.MATRIX))
    stored = stored_fields(path)
    if len(stored) != matrix.n_docs:
        raise IndexUnavailable(
            f"index version {path.name} is inconsistent: {len(stored)} passages, {matrix.n_docs} matrix rows"
        )
    lookups = read_lookups(path)
    word_df = lookups.word_df if lookups else vocabulary(path)
    synonyms = parse_synonyms((path / V.SYNONYMS).read_text(encoding="utf-8"))
    semantic = open_semantic(path, manifest.semantic, encoder, matrix.n_docs)
    urgent_rules = parse_rules((path / V.URGENT).read_text(encoding="utf-8"), V.URGENT)
    passages = _passages(stored)
    articles = {a["slug"]: a for a in manifest.articles}
    urgent, care, typos = _safety_checks(path, urgent_rules, passages, articles, semantic)
    return LoadedIndex(
        version=manifest.version,
        manifest=manifest,
        matrix=matrix,
        passages=passages,
        not_duplicate=_first_copies([fields[S.DUPKEY] for fields in stored]),
        synonyms=synonyms,
        word_df=word_df,
        sorted_words=sorted(word_df),
        article_rows=_article_rows(passages),
        articles=articles,
        speller=Speller(word_df, encoder.dictionary if encoder else frozenset()),
        highlighter=Highlighter(word_df, lookups.stem_starts if lookups else None),
        care=care,
        suggester=Suggester(articles, passages, lookups.phrases if lookups else None),
        topics=site_topics(articles),
        entities=EntityIndex(articles, passages, matrix.stem_df()),
        semantic=semantic,
        sentences=read_sentences(path, matrix.n_docs, semantic.encoder.dimensions if semantic else None),
        urgent=urgent,
        typos=typos,
    )


def _safety_checks(
    path: Path, rules: list, passages: list[Passage], articles: dict[str, dict], semantic: SemanticIndex | None
) -> tuple[UrgentDetector, CareSigns, TypoFixer | None]:
    """The emergency check and care advice, with the vectors the build stored when the version is
    served with its model (by words alone otherwise)."""
    signs = warning_signs(((p.article.slug, p.anchor, p.text) for p in passages), articles)
    words = parse_care_words((path / V.CARE_WORDS).read_text(encoding="utf-8"), V.CARE_WORDS)
    if semantic is None:
        return UrgentDetector(rules), CareSigns(signs, words), None
    with np.load(path / V.SIGN_VECTORS) as stored:
        arrays = {name: stored[name] for name in ("urgent_examples", "urgent_unlike", "care", "ordinary")}
        probe = Probe(_read_only(stored["urgent_probe"]))
    for name, array in arrays.items():
        if len(array) and array.shape[1:] != (semantic.encoder.dimensions,):
            raise ValueError(
                f"{V.SIGN_VECTORS}: {name} holds {array.shape}, expected rows of {semantic.encoder.dimensions}"
            )
    texts = tuple((path / V.ORDINARY).read_text(encoding="utf-8").splitlines())
    if len(texts) != len(arrays["ordinary"]):
        raise ValueError(f"{V.SIGN_VECTORS} does not match {V.ORDINARY}")
    ordinary = Contrast(texts, _read_only(arrays["ordinary"]))
    known = [
        *texts,
        *(p for r in rules for p in (*r.phrases, *r.examples, *r.unlike)),
        *(p for w in words.values() for p in (*w.triggers, *w.examples)),
        *(s.text for s in signs),
    ]
    typos = TypoFixer(known, semantic.encoder.dictionary)
    if probe.weights.shape != (semantic.encoder.dimensions + 1, len(rules) + 1):
        raise ValueError(f"{V.SIGN_VECTORS}: a probe of shape {probe.weights.shape} for {len(rules)} rules")
    urgent = UrgentDetector(
        rules, _read_only(arrays["urgent_examples"]), _read_only(arrays["urgent_unlike"]), ordinary, probe
    )
    return urgent, CareSigns(signs, words, _read_only(arrays["care"]), ordinary), typos


def _read_only(array: np.ndarray) -> np.ndarray:
    return frozen(np.ascontiguousarray(array, dtype=np.float32))


def _passages(stored: list[dict]) -> list[Passage]:
    refs: dict[str, ArticleRef] = {}
    passages = []
    for fields in stored:
        slug = fields[S.SLUG]
        ref = refs.get(slug)
        if ref is None:
            ref = refs[slug] = ArticleRef(slug=slug, title=fields[S.TITLE], url=fields[S.URL] or None)
        passages.append(
            Passage(
                id=fields[S.ID_FIELD],
                article=ref,
                section=fields[S.SECTION],
                anchor=fields[S.ANCHOR],
                position=fields[S.POSITION],
                text=fields[S.TEXT_FIELD],
            )
        )
    return passages


def _first_copies(dupkeys: list[str]) -> np.ndarray:
    """True for each passage whose duplicate key no earlier passage has."""
    seen: set[str] = set()
    first = np.ones(len(dupkeys), dtype=bool)
    for row, key in enumerate(dupkeys):
        if key in seen:
            first[row] = False
        seen.add(key)
    return frozen(first)


def _article_rows(passages: list[Passage]) -> dict[str, tuple[int, int]]:
    rows: dict[str, tuple[int, int]] = {}
    for row, p in enumerate(passages):
        start, _ = rows.get(p.article.slug, (row, row))
        rows[p.article.slug] = (start, row + 1)
    return rows
