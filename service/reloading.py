"""Keeps the served index current: opens the published version, notices a new one, falls back.

Each request takes ``holder.current`` once and uses that LoadedIndex to the end, so a swap never
changes an index under a request in flight. A version that fails to open is never served; if an
older good version is on disk the service keeps answering from it and reports "degraded".
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .cache import ResultCache
from .corpus import CorpusError
from .indexer import BuildLockedError, build_index, current_version, list_versions, version_path
from .settings import Settings
from .models import SearchResults
from .search import SearchRequest, search
from .suggest import suggester_for
from .store import IndexUnavailable, LoadedIndex, open_version

log = logging.getLogger("healthfaq.index")
_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None
if _LIBC is not None and not hasattr(_LIBC, "malloc_trim"):  # not glibc (musl, macOS): nothing to trim
    _LIBC = None


@dataclass
class Served:
    """The index in service and the cache of answers computed from it (dropped with it)."""
    index: LoadedIndex
    cache: ResultCache
    loaded_at: float

    def cached(self, request: SearchRequest) -> SearchResults | None:
        """A finished answer to the same normalised request on this version, if one is kept."""
        return self.cache.get(_cache_key(request))  # type: ignore[return-value]

    def search(self, request: SearchRequest, use_cache: bool = True) -> SearchResults:
        if use_cache:
            cached = self.cached(request)
            if cached is not None:
                return cached
        results = search(self.index, request)
        if use_cache:
            self.cache.put(_cache_key(request), results)
        return results


def _cache_key(request: SearchRequest) -> tuple:
    return (" ".join(request.q.lower().split()), request.limit, request.offset, request.article, request.prefix)


class IndexHolder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self._served: Served | None = None
        self._lock = threading.Lock()
        self.status = "starting"
        self.problem: str | None = None
        self._building = False
        self._release_pending = False
        # A published version that failed to open is logged and counted once, not at every check:
        # versions never change once published, and a fix is published as a new version.
        self._failed_version: str | None = None
        self.open_failures = 0

    @property
    def served(self) -> Served | None:
        return self._served

    @property
    def current(self) -> LoadedIndex | None:
        served = self._served
        return served.index if served else None

    def refresh(self) -> bool:
        """Load the published version if it is not the one served. True when something changed."""
        with self._lock:
            if self._release_pending:
                self._release_replaced()
            wanted = current_version(self.index_dir)
            served = self._served
            if wanted is None:
                if served is None:
                    self.status, self.problem = "starting", "no index has been built yet"
                return False
            if served is not None and served.index.version == wanted:
                return False
            if wanted == self._failed_version:
                return False
            try:
                self._swap(open_version(version_path(self.index_dir, wanted)))
                self.status, self.problem = "ok", None
                return True
            except IndexUnavailable as exc:
                self._failed_version = wanted
                self.open_failures += 1
                log.error("index version %s cannot be served: %s", wanted, exc)
                # /healthz is public: name the version, keep file paths and errors for the log.
                self.problem = f"index version {wanted} cannot be opened; see the server log"
                if served is None:
                    return self._fall_back(exclude=wanted)
                self.status = "degraded"
                return False

    def _fall_back(self, exclude: str) -> bool:
        for name in reversed(list_versions(self.index_dir)):
            if name == exclude:
                continue
            try:
                self._swap(open_version(version_path(self.index_dir, name)))
            except IndexUnavailable:
                continue
            self.status = "degraded"
            return True
        self.status = "degraded" if self._served else "starting"
        return False

    def _release_replaced(self) -> None:
        """Give a replaced version's memory back to the OS, one check after the swap (requests
        that started on it have finished by then). Without it glibc keeps the freed blocks, and
        a long-running worker grows by a fraction of an index with every reindex."""
        self._release_pending = False
        gc.collect()
        if _LIBC is not None:
            _LIBC.malloc_trim(0)

    def _swap(self, index: LoadedIndex) -> None:
        # Suggestions are prepared before the version serves, so no request waits for them.
        suggester_for(index)
        self._release_pending = self._served is not None
        self._served = Served(index=index, cache=ResultCache(self.settings.result_cache_size),
                              loaded_at=time.time())
        log.info("serving index version %s (%d passages)", index.version, index.passage_count)

    def build_if_missing(self) -> None:
        """First start with no index: build one from the corpus (another worker may be doing it)."""
        if current_version(self.index_dir) is not None or not self.settings.build_if_missing:
            return
        self._building = True
        try:
            build_index(self.settings.corpus_path, self.index_dir, procs=self.settings.build_procs)
        except BuildLockedError:
            log.info("another process is building the index; waiting for it")
        except CorpusError as exc:
            self.problem = "cannot build the index: the corpus has an error; see the server log"
            log.error("cannot build the index: %s", exc)
        finally:
            self._building = False
