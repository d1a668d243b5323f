"""Build a new index version next to the one being served, then switch to it atomically.

corpus -> Articles (corpus.py) -> Passages (chunking.py) -> Whoosh segments (segment.py) ->
BM25F matrix derived from those segments (weights.py) -> a complete version directory
(version.py) -> published. Nothing under the index directory changes until the new version is
complete, so a failing or killed build leaves the served index as it was.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from importlib.metadata import version as dist_version
from pathlib import Path

import numpy as np

from service.build.corpus import load_articles
from service.build.editorfiles import editor_file, rules_text
from service.build.forked import can_fork, run_parts
from service.build.phrases import phrase_vectors, pool_texts
from service.build.probe import train_probe
from service.build.segment import commit_segments, create_index, write_segment
from service.build.sentences import passage_sentences, sentence_texts
from service.build.vectors import write_vectors
from service.build.weights import derive_matrix
from service.index import schema as S
from service.index import version as V
from service.index.embedding import Encoder
from service.index.lookups import Lookups, stored_fields, vocabulary, write_lookups
from service.index.models import Article
from service.index.sentences import write_sentences
from service.query.snippets import stem_starts
from service.query.suggest import mine_phrases
from service.query.synonyms import check_synonyms
from service.safety.care import CARE_FILE, care_signs, parse_care_words, warning_signs
from service.safety.signs import example_owners, example_phrases, unlike_phrases
from service.safety.urgent import parse_rules, rule_signs

PARALLEL_MIN_CHARS = 3_000_000  # about 4,000 passages
PROBE_PREFIX = "probe-"  # trained probes kept in the vector cache folder (see _cached_probe)


class BuildLockedError(RuntimeError):
    """Another build of the same index directory is running."""


@dataclass(frozen=True)
class BuildReport:
    version: str
    path: Path
    articles: int
    passages: int
    seconds: float


def build_index(
    corpus: Path,
    index_dir: Path,
    synonyms: Path | None = None,
    keep: int = V.KEEP_VERSIONS,
    procs: int = 0,
    encoder: Encoder | None = None,
) -> BuildReport:
    """Validate the corpus, build a new version and publish it; raise before touching DIR on bad input.

    With an ``encoder`` every passage is also embedded (vectors of unchanged passages come from
    DIR/vector-cache); without one the version is lexical only.
    """
    started = time.perf_counter()
    articles = load_articles(corpus)
    rules = synonym_rules(corpus, synonyms)
    urgent, urgent_source = rules_text(corpus)
    urgent_rules = parse_rules(urgent, urgent_source)  # a broken rules file stops the build, like a broken article
    care_words_text, care_source = editor_file(corpus, CARE_FILE)
    care_words = parse_care_words(care_words_text, care_source)
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir):
        (index_dir / V.VERSIONS).mkdir(exist_ok=True)
        V.remove_drafts(index_dir)
        name = V.new_version_name(index_dir)
        draft = V.draft_path(index_dir, name)
        draft.mkdir()
        try:
            passages = _write_whoosh(draft, articles, procs)
            derive_matrix(draft).save(draft / V.MATRIX)
            stored = stored_fields(draft)
            write_lookups(draft, _lookups(draft, stored))
            sentence_procs = _processes(procs, sum(len(fields[S.TEXT_FIELD]) for fields in stored))
            first, spans = passage_sentences(stored, sentence_procs)
            described, sentence_vectors = None, None
            if encoder:
                texts = sentence_texts(stored, first, spans)
                described, sentence_vectors = write_vectors(
                    draft, stored, encoder, index_dir / V.VECTOR_CACHE, procs, texts
                )
            write_sentences(draft, first, spans, sentence_vectors)
            (draft / V.SYNONYMS).write_text(rules, encoding="utf-8")
            (draft / V.URGENT).write_text(urgent, encoding="utf-8")
            (draft / V.CARE_WORDS).write_text(care_words_text, encoding="utf-8")
            ordinary = pool_texts()
            (draft / V.ORDINARY).write_text("\n".join(ordinary) + "\n", encoding="utf-8")
            if encoder:
                _write_sign_vectors(
                    draft,
                    encoder,
                    stored,
                    urgent_rules,
                    care_words,
                    ordinary,
                    articles,
                    procs or os.cpu_count() or 1,
                    index_dir / V.VECTOR_CACHE,
                )
            V.write_manifest(draft, _manifest(name, corpus, articles, passages, described))
            final = V.complete(draft, name)
        except BaseException:
            shutil.rmtree(draft, ignore_errors=True)
            raise
        V.publish(index_dir, name)
        V.prune(index_dir, keep)
    return BuildReport(
        version=name, path=final, articles=len(articles), passages=passages, seconds=time.perf_counter() - started
    )


def _write_sign_vectors(
    draft: Path,
    encoder: Encoder,
    stored: list[dict],
    urgent_rules: list,
    care_words: dict,
    ordinary: list[str],
    articles: Sequence[Article],
    threads: int,
    cache_dir: Path,
) -> None:
    """Everything the emergency check and care advice compare by meaning, embedded once here so
    that opening a version never runs the model (store.py reads them back in the same order)."""
    signs = rule_signs(urgent_rules)
    meta = {a.slug: {"care_sections": list(a.care_sections)} for a in articles}
    care = care_signs(warning_signs(((f[S.SLUG], f[S.ANCHOR], f[S.TEXT_FIELD]) for f in stored), meta), care_words)

    def embed(texts: list[str]) -> np.ndarray:
        return phrase_vectors(texts, encoder, threads)

    urgent_examples, urgent_unlike = embed(example_phrases(signs)), embed(unlike_phrases(signs))
    care_examples, pool = embed(example_phrases(care)), embed(ordinary)
    half = np.float16  # the vectors' own precision (phrases.py, vectorcache.py): half the disk
    np.savez(
        draft / V.SIGN_VECTORS,
        urgent_examples=urgent_examples.astype(half),
        urgent_unlike=urgent_unlike.astype(half),
        care=care_examples.astype(half),
        ordinary=pool.astype(half),
        urgent_probe=_cached_probe(
            cache_dir, urgent_examples, example_owners(signs), len(signs), np.concatenate([pool, urgent_unlike])
        ),
    )


def _cached_probe(
    cache_dir: Path, examples: np.ndarray, owner: np.ndarray, signs: int, ordinary: np.ndarray
) -> np.ndarray:
    """The probe for these vectors, trained once (a second of CPU) and kept beside the vector cache
    by a digest of everything it is trained on, so a rebuild with unchanged rules reuses it; only
    the latest is kept."""
    digest = hashlib.sha256()
    for array in (examples.astype(np.float16), owner.astype(np.int64), ordinary.astype(np.float16)):
        digest.update(array.tobytes())
    path = cache_dir / f"{PROBE_PREFIX}{digest.hexdigest()[:32]}.npy"
    try:
        weights = np.load(path)
        if weights.shape == (examples.shape[1] + 1, signs + 1):
            return weights
    except (OSError, ValueError):
        pass
    weights = train_probe(examples, owner, signs, ordinary)
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".npy")
    with os.fdopen(handle, "wb") as file:
        np.save(file, weights)
    os.replace(temporary, path)
    for old in cache_dir.glob(f"{PROBE_PREFIX}*.npy"):
        if old != path:
            old.unlink(missing_ok=True)
    return weights


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking: a second build refuses with a clear message instead of waiting."""
    handle = open(index_dir / V.LOCK, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BuildLockedError(
                f"another build of {index_dir} is running ({holder}); try again when it ends"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def synonym_rules(corpus: Path, override: Path | None = None) -> str:
    """The synonym rules a build uses: ``override`` alone when given, else the package's default
    vocabulary followed by the corpus folder's own ``synonyms.txt`` (site-specific additions).

    The defaults ship inside the package, so an installed wheel builds with them wherever it runs.
    Each file is checked on its own (``check_synonyms``), so an error names its file and line.
    """
    if override is not None:
        files = [(Path(override).read_text(encoding="utf-8"), str(override))]
    else:
        shipped = resources.files("service").joinpath("data", V.SYNONYMS)
        files = [(shipped.read_text(encoding="utf-8"), str(shipped))]
        local = Path(corpus) / V.SYNONYMS
        if local.is_file():
            files.append((local.read_text(encoding="utf-8"), str(local)))
    for text, source in files:
        check_synonyms(text, source)
    return "\n".join(text for text, _ in files)


def _processes(requested: int, total_chars: int) -> int:
    if not can_fork():
        return 1
    if requested > 0:  # more processes than cores only compete for them
        return min(requested, os.cpu_count() or 1)
    # Two segments written side by side nearly halve the build; for small corpora (under ~4,000
    # passages) starting a process costs more than it saves.
    return min(2, os.cpu_count() or 1) if total_chars >= PARALLEL_MIN_CHARS else 1


def _write_whoosh(folder: Path, articles: Sequence[Article], procs: int) -> int:
    """Chunk, analyse and write the Whoosh index of record; returns the number of passages.

    The articles are cut into as many consecutive parts of about equal text as there are
    processes (``_processes``); each is chunked, analysed and written as its own Whoosh segment
    by its own process. Documents keep corpus order either way.
    """
    ends = np.cumsum([_size(a) for a in articles])  # text up to and including each article
    parts = _parts(articles, ends, _processes(procs, int(ends[-1]) if len(ends) else 0))
    create_index(folder, S.build_schema())
    written = run_parts(partial(write_segment, folder), parts)
    commit_segments(folder, [w.segment for w in written])
    return sum(w.passages for w in written)


def _size(article: Article) -> int:
    return sum(len(b.text) + sum(map(len, b.items)) for s in article.sections for b in s.blocks)


def _parts(articles: Sequence[Article], ends: np.ndarray, count: int) -> list[Sequence[Article]]:
    """``count`` consecutive runs of articles holding about the same amount of text."""
    total = int(ends[-1]) if len(ends) else 0
    cuts = [0] + [int(np.searchsorted(ends, total * k / count)) for k in range(1, count)] + [len(articles)]
    return [articles[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


def _lookups(folder: Path, stored: list[dict]) -> Lookups:
    """What opening the version would otherwise work out from its passages (lookups.py)."""
    word_df = vocabulary(folder)
    return Lookups(
        word_df=word_df,
        stem_starts=stem_starts(word_df),
        phrases=mine_phrases(fields[S.TEXT_FIELD] for fields in stored),
    )


def _manifest(name: str, corpus: Path, articles: Sequence[Article], passages: int, semantic: dict | None) -> V.Manifest:
    return V.Manifest(
        semantic=semantic,
        format=V.FORMAT,
        version=name,
        built_at=datetime.now(UTC).isoformat(),
        corpus=str(corpus),
        whoosh=f"whoosh-reloaded {dist_version('whoosh-reloaded')}",
        passages=passages,
        articles=[
            {
                "slug": a.slug,
                "title": a.title,
                "url": a.url,
                "kind": a.kind,
                "care_sections": list(a.care_sections),
                "sections": [{"heading": s.heading, "anchor": s.anchor, "editorial": s.editorial} for s in a.sections],
            }
            for a in articles
        ],
    )
