"""The on-disk index: where versions live, what a version directory holds, its manifest.

Build and serve meet only here. The build (indexer.py) writes a version through these names and
publishes it; the service (store.py, reloading.py) finds and opens one through them; neither side
imports the other.

    DIR/CURRENT                 name of the version in service (replaced atomically)
    DIR/versions/<version>/     one complete build:
        _MAIN_<n>.toc, *.seg    the Whoosh index: schema, stored passages, postings (read by
                                store.py for passages and the words lexicon, and by
                                build/weights.py at build time)
        ranking.npz             BM25F weights derived from the Whoosh postings (store.py)
        vectors.npy             one unit vector per passage, float32, when built with a model
                                (semantic.py maps it read-only; versions before stored float16)
        scan.onnx               with vectors: the same as int8 in a one-node-and-arithmetic ONNX
                                graph, every cosine with error bounds (scan.py; optional)
        urgent.yaml             the emergency rules the version was built with (store.py)
        care_signs.yaml         the editors' lay words for the care sections' warning signs (store.py)
        ordinary.txt            the ordinary-question pool meaning matches must beat (store.py)
        signs.npz               with a model: the rules' examples and near misses, the care signs
                                and the ordinary pool, embedded (store.py; signs.py uses them)
        synonyms.txt            the synonym rules the version was built with (store.py)
        lexicon.json            the words with their document frequencies and each stem's shared
                                start (lookups.py; optional: older versions work them out on open)
        phrases.json            the frequent phrases the search box suggests (lookups.py; optional)
        sentences.npz           each passage's sentence spans (sentences.py; optional)
        sentence_vectors.npy    with a model: each sentence embedded, int8 (sentences.py; optional)
        manifest.json           the version's metadata and its articles' sections (store.py)
    DIR/versions/.draft-<v>/    a build in progress; never served
    DIR/.build.lock             flock()ed by the build in progress; the kernel drops it if it dies
    DIR/vector-cache/           passage vectors by (model, text): a rebuild embeds only what changed;
                                and the emergency probe by a digest of what it was trained on
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

POINTER = "CURRENT"
VERSIONS = "versions"
LOCK = ".build.lock"
DRAFT_PREFIX = ".draft-"
MANIFEST = "manifest.json"
SYNONYMS = "synonyms.txt"
MATRIX = "ranking.npz"
VECTORS = "vectors.npy"
SCAN = "scan.onnx"
URGENT = "urgent.yaml"
CARE_WORDS = "care_signs.yaml"
ORDINARY = "ordinary.txt"
SIGN_VECTORS = "signs.npz"
LEXICON = "lexicon.json"
PHRASES = "phrases.json"
SENTENCES = "sentences.npz"
SENTENCE_VECTORS = "sentence_vectors.npy"
VECTOR_CACHE = "vector-cache"
KEEP_VERSIONS = 3
# `healthfaq build` exits with this (EX_TEMPFAIL) when another build holds the lock.
BUILD_LOCKED_EXIT = 75
# Bumped whenever a version directory's contents change meaning: an older version is not opened.
FORMAT = 4


@dataclass(frozen=True)
class Manifest:
    """What a version was built from, and the articles' metadata (pages, suggestions, care)."""

    format: int
    version: str
    built_at: str
    corpus: str
    whoosh: str
    passages: int
    articles: list[dict] = field(default_factory=list)  # slug, title, url, kind, care_sections, sections
    semantic: dict | None = None  # the model of vectors.npy (id, hash, dimensions), None when lexical only

    def built_timestamp(self) -> float | None:
        try:
            return datetime.fromisoformat(self.built_at).timestamp()
        except ValueError:
            return None


def read_manifest(folder: Path) -> Manifest:
    data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    return Manifest(**data)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    (Path(folder) / MANIFEST).write_text(json.dumps(asdict(manifest), ensure_ascii=False), encoding="utf-8")


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


def new_version_name(index_dir: Path) -> str:
    """A name that sorts after every existing version (UTC build time, microseconds)."""
    while True:
        name = f"v{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
        if not version_path(index_dir, name).exists():
            return name
        time.sleep(0.001)


def draft_path(index_dir: Path, name: str) -> Path:
    return Path(index_dir) / VERSIONS / f"{DRAFT_PREFIX}{name}"


def remove_drafts(index_dir: Path) -> None:
    """Drafts left by builds that died (call only while holding the build lock)."""
    for draft in (Path(index_dir) / VERSIONS).glob(f"{DRAFT_PREFIX}*"):
        shutil.rmtree(draft, ignore_errors=True)


def complete(draft: Path, name: str) -> Path:
    """Make a finished draft a version: everything synced to disk, then renamed into place."""
    for path in draft.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(draft)
    final = draft.parent / name
    os.rename(draft, final)
    return final


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


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
