"""Build a versioned index next to the one being served, then switch to it atomically.

Layout of the index directory (the stable path that builder and service are both given):

    DIR/CURRENT              name of the version in service (replaced with os.replace)
    DIR/versions/<version>/  Whoosh index + ranking.npz + synonyms.txt + manifest.json
    DIR/.build.lock          flock()ed by the build in progress; the kernel drops it if we die

Nothing under DIR changes until a new version is complete, so a failing or killed build leaves
the served index as it was.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from importlib import resources
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from . import schema as S
from .corpus import load_articles
from .forked import can_fork, run_parts
from .models import Article
from .ranking import MATRIX_FILE, write_matrix
from .segment import commit_segments, create_index, write_segment
from .termcounts import merge_counts

POINTER = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
SYNONYMS = "synonyms.txt"
LOCK = ".build.lock"
KEEP_VERSIONS = 3
PARALLEL_MIN_CHARS = 3_000_000  # about 4,000 passages


class BuildLockedError(RuntimeError):
    """Another build of the same index directory is running."""


@dataclass(frozen=True)
class BuildReport:
    version: str
    path: Path
    articles: int
    passages: int
    seconds: float


def build_index(corpus: Path, index_dir: Path, synonyms: Path | None = None,
                keep: int = KEEP_VERSIONS, procs: int = 0) -> BuildReport:
    """Validate the corpus, build a new version and publish it; raise before touching DIR on bad input."""
    started = time.perf_counter()
    articles = load_articles(corpus)
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir):
        versions = index_dir / VERSIONS
        versions.mkdir(exist_ok=True)
        _remove_stale_drafts(versions)
        name = _new_version_name(versions)
        draft = versions / f".draft-{name}"
        draft.mkdir()
        try:
            passages = _write_indexes(draft, articles, procs)
            (draft / SYNONYMS).write_text(synonym_rules(corpus, synonyms), encoding="utf-8")
            _write_manifest(draft, name, corpus, articles, passages)
            _fsync_tree(draft)
            final = versions / name
            os.rename(draft, final)
        except BaseException:
            shutil.rmtree(draft, ignore_errors=True)
            raise
        publish(index_dir, name)
        prune(index_dir, keep)
    return BuildReport(version=name, path=final, articles=len(articles), passages=passages,
                       seconds=time.perf_counter() - started)


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking: a second build refuses with a clear message instead of waiting."""
    handle = open(index_dir / LOCK, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BuildLockedError(f"another build of {index_dir} is running ({holder}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def current_version(index_dir: Path) -> str | None:
    try:
        name = (Path(index_dir) / POINTER).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return name or None


def version_path(index_dir: Path, name: str) -> Path:
    return Path(index_dir) / VERSIONS / name


def list_versions(index_dir: Path) -> list[str]:
    """Complete versions, oldest first (names sort by build time)."""
    folder = Path(index_dir) / VERSIONS
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def publish(index_dir: Path, name: str) -> None:
    """Point DIR/CURRENT at a version: write a temp file, fsync, rename over (atomic on POSIX)."""
    tmp = Path(index_dir) / f".{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, Path(index_dir) / POINTER)
    _fsync_dir(Path(index_dir))


def prune(index_dir: Path, keep: int = KEEP_VERSIONS) -> list[str]:
    """Delete all but the newest ``keep`` versions, never the current one."""
    current = current_version(index_dir)
    names = list_versions(index_dir)
    removed = []
    for name in names[: max(0, len(names) - keep)]:
        if name != current:
            shutil.rmtree(version_path(index_dir, name), ignore_errors=True)
            removed.append(name)
    return removed


def read_manifest(path: Path) -> dict:
    return json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))


def _new_version_name(versions: Path) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    name = f"v{stamp}"
    while (versions / name).exists():
        time.sleep(0.001)
        name = f"v{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
    return name


def _remove_stale_drafts(versions: Path) -> None:
    # We hold the build lock, so any draft left here belongs to a build that died.
    for draft in versions.glob(".draft-*"):
        shutil.rmtree(draft, ignore_errors=True)


def _processes(requested: int, total_chars: int) -> int:
    if not can_fork():
        return 1
    if requested > 0:  # more processes than cores only compete for them
        return min(requested, os.cpu_count() or 1)
    # Two segments written side by side nearly halve the build; for small corpora (under ~4,000
    # passages) starting a process costs more than it saves.
    return min(2, os.cpu_count() or 1) if total_chars >= PARALLEL_MIN_CHARS else 1


def _write_indexes(folder: Path, articles: Sequence[Article], procs: int) -> int:
    """Chunk and analyse once, write the Whoosh index of record and the ranking matrix from it.

    The articles are cut into as many consecutive parts of about equal text as there are
    processes (``_processes``); each is chunked, analysed and written as its own Whoosh segment
    by its own process, and the parts' counts are merged for the matrix. Documents keep corpus
    order either way. Returns the number of passages.
    """
    ends = np.cumsum([_size(a) for a in articles])  # text up to and including each article
    parts = _parts(articles, ends, _processes(procs, int(ends[-1]) if len(ends) else 0))
    create_index(folder, S.build_schema())
    written = run_parts(partial(write_segment, folder), parts)
    commit_segments(folder, [w.segment for w in written])
    passage_ids = [pid for w in written for pid in w.passage_ids]
    write_matrix(folder / MATRIX_FILE, merge_counts([w.counts for w in written]), passage_ids)
    return len(passage_ids)


def _size(article: Article) -> int:
    return sum(len(b.text) + sum(map(len, b.items)) for s in article.sections for b in s.blocks)


def _parts(articles: Sequence[Article], ends: np.ndarray, count: int) -> list[Sequence[Article]]:
    """``count`` consecutive runs of articles holding about the same amount of text."""
    total = int(ends[-1]) if len(ends) else 0
    cuts = [0] + [int(np.searchsorted(ends, total * k / count)) for k in range(1, count)] + [len(articles)]
    return [articles[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


def synonym_rules(corpus: Path, override: Path | None = None) -> str:
    """The synonym rules a build uses: ``override`` alone when given, else the package's default
    vocabulary followed by the corpus folder's own ``synonyms.txt`` (site-specific additions).

    The defaults ship inside the package, so an installed wheel builds with them wherever it runs.
    """
    if override is not None:
        return Path(override).read_text(encoding="utf-8")
    rules = [resources.files("service").joinpath("data", SYNONYMS).read_text(encoding="utf-8")]
    local = Path(corpus) / SYNONYMS
    if local.is_file():
        rules.append(local.read_text(encoding="utf-8"))
    return "\n".join(rules)


def _write_manifest(folder: Path, name: str, corpus: Path, articles: Sequence[Article],
                    passages: int) -> None:
    manifest = {
        "version": name,
        "built_at": datetime.now(timezone.utc).isoformat(),
        "corpus": str(corpus),
        "whoosh": f"whoosh-reloaded {dist_version('whoosh-reloaded')}",
        "articles": len(articles),
        "passages": passages,
        "article_meta": [
            {"slug": a.slug, "title": a.title, "url": a.url, "kind": a.kind,
             "care_sections": list(a.care_sections),
             "sections": [{"heading": s.heading, "anchor": s.anchor} for s in a.sections]}
            for a in articles
        ],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
