"""Keeps the served index current: opens the published version, notices a new one, falls back.

Each request takes ``holder.served`` once and uses that LoadedIndex to the end, so a swap never
changes an index under a request in flight. A version that fails to open is never served; if an
older good version is on disk the service keeps answering from it and reports "degraded".

The service never imports the build: a missing index is built by a ``healthfaq build`` child
process, and the server meets its result only as a published version on disk.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from service.index import version as V
from service.index.embedding import Encoder
from service.index.semantic import load_encoder
from service.query.store import IndexUnavailable, LoadedIndex, open_version
from service.settings import Settings

log = logging.getLogger("healthfaq.index")
_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None
if _LIBC is not None and not hasattr(_LIBC, "malloc_trim"):  # not glibc (musl, macOS): nothing to trim
    _LIBC = None


@dataclass(frozen=True)
class Served:
    """The index in service and when this worker started serving it."""

    index: LoadedIndex
    loaded_at: float


class IndexHolder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self._served: Served | None = None
        self._lock = threading.Lock()
        self.status = "starting"
        self.problem: str | None = None
        self._release_pending = False
        # A published version that failed to open is logged and counted once, not at every check:
        # versions never change once published, and a fix is published as a new version.
        self._failed_version: str | None = None
        self.open_failures = 0
        self._encoder: Encoder | None = None
        self._encoder_loaded = False

    def _model(self) -> Encoder | None:
        """The serving model, loaded on the first refresh (off the event loop), then kept."""
        if not self._encoder_loaded:
            self._encoder = load_encoder(self.settings.embedding_model)
            self._encoder_loaded = True
        return self._encoder

    @property
    def served(self) -> Served | None:
        return self._served

    def refresh(self) -> bool:
        """Load the published version if it is not the one served. True when something changed."""
        with self._lock:
            if self._release_pending:
                self._release_replaced()
            wanted = V.current_version(self.index_dir)
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
                self._swap(self._open(wanted))
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
        for name in reversed(V.list_versions(self.index_dir)):
            if name == exclude:
                continue
            try:
                self._swap(self._open(name))
            except IndexUnavailable:
                continue
            self.status = "degraded"
            return True
        self.status = "degraded" if self._served else "starting"
        return False

    def _open(self, name: str) -> LoadedIndex:
        """Version ``name`` opened whole, or IndexUnavailable (store.open_version's one boundary)."""
        return open_version(V.version_path(self.index_dir, name), self._model())

    def _release_replaced(self) -> None:
        """Give a replaced version's memory back to the OS, one check after the swap (requests
        that started on it have finished by then). Without it glibc keeps the freed blocks, and
        a long-running worker grows by a fraction of an index with every reindex."""
        self._release_pending = False
        gc.collect()
        if _LIBC is not None:
            _LIBC.malloc_trim(0)

    def _swap(self, index: LoadedIndex) -> None:
        self._release_pending = self._served is not None
        self._served = Served(index=index, loaded_at=time.time())
        log.info(
            "serving index version %s (%d passages, %s)",
            index.version,
            index.passage_count,
            "hybrid" if index.semantic else "lexical only",
        )

    def build_if_missing(self) -> None:
        """First start with no index: build one from the corpus in a child process (another
        worker may be doing it already; then this one waits for the version it publishes)."""
        if V.current_version(self.index_dir) is not None or not self.settings.build_if_missing:
            return
        command = [
            sys.executable,
            "-m",
            "service",
            "build",
            "--corpus",
            str(self.settings.corpus_path),
            "--index",
            str(self.index_dir),
        ]
        if self.settings.build_procs:
            command += ["--procs", str(self.settings.build_procs)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode == V.BUILD_LOCKED_EXIT:
            log.info("another process is building the index; waiting for it")
        elif done.returncode != 0:
            self.problem = "cannot build the index: the corpus has an error; see the server log"
            log.error("cannot build the index: %s", done.stderr.strip())
        else:
            log.info("%s", done.stdout.strip())
