"""Content gaps: which questions find nothing, counted, so editors know what to write next.

Off unless the operator sets HEALTHFAQ_GAPS_FILE: questions are health data and are never stored
by default. When on, each zero-result question is normalised (case, spacing, punctuation and
control characters; digit runs become "#" and e-mail addresses "<email>", so ages, dates and
contact details are not kept verbatim) and appended as one JSON line. Appends are single small
writes to a file opened with O_APPEND, so several workers can share the file. The log stops
growing at ``max_bytes``. `healthfaq gaps` aggregates it: the most frequent questions first.

A search records its gap with ``record_later``: the write happens on the log's own thread, never
on the event loop, so a slow or stuck disk (a full NFS mount) delays no request.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections import Counter
from pathlib import Path

import orjson

from service.query.question import clean_question

log = logging.getLogger("healthfaq.gaps")

MAX_QUESTION_CHARS = 200
MAX_LOG_BYTES = 20 * 1024 * 1024
MAX_PENDING = 1000  # questions waiting for a slow disk before new ones are dropped
CLOSE_TIMEOUT_S = 5.0
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_DIGITS = re.compile(r"\d+")
_PUNCTUATION = re.compile(r"[^\w\s#<>'-]+")
_EDGE_PUNCTUATION = " '-"


def normalise_question(text: str) -> str:
    """The form questions are counted under: 'Why does my 3yo cough?!' -> 'why does my #yo cough'.

    Case, spacing and punctuation are dropped so that the same question typed differently counts once.
    """
    text = _EMAIL.sub("<email>", clean_question(text))
    text = _PUNCTUATION.sub(" ", _DIGITS.sub("#", text.casefold()))
    text = " ".join(text.split()).strip(_EDGE_PUNCTUATION)
    return text[:MAX_QUESTION_CHARS].rstrip()


class GapsLog:
    """Appends zero-result questions to one file (one JSON object per line)."""

    def __init__(self, path: Path, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._full = False
        # One writer thread, started with the first question: appends keep their order. The queue
        # is bounded and the thread a daemon, so a disk that never answers costs at most
        # MAX_PENDING questions of memory and never holds the process at exit.
        self._pending: queue.Queue[str | None] = queue.Queue(maxsize=MAX_PENDING)
        self._writer: threading.Thread | None = None
        self._starting = threading.Lock()

    def record_later(self, question: str) -> None:
        """Queue one question for ``record`` on the writer thread and return at once (dropped
        when MAX_PENDING are already waiting: the disk is not keeping up)."""
        with self._starting:  # not self._lock: the writer holds that while the disk answers
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_pending, name="gaps-log", daemon=True)
                self._writer.start()
        try:
            self._pending.put_nowait(question)
        except queue.Full:
            pass

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Write what is queued, then stop the writer thread (the app's shutdown); a stuck disk
        holds the shutdown ``timeout`` seconds at most."""
        if self._writer is None:
            return
        try:
            self._pending.put(None, timeout=timeout)
        except queue.Full:
            return
        self._writer.join(timeout)

    def _write_pending(self) -> None:
        while (question := self._pending.get()) is not None:
            self.record(question)

    def record(self, question: str) -> bool:
        """Append one question; False when it normalises to nothing or the log is full."""
        text = normalise_question(question)
        if not text or self._full:
            return False
        line = orjson.dumps({"q": text, "t": int(time.time())}) + b"\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    if os.fstat(fd).st_size + len(line) > self.max_bytes:
                        self._full = True
                        log.warning("content-gaps log reached %d bytes; no longer recording", self.max_bytes)
                        return False
                    os.write(fd, line)
                finally:
                    os.close(fd)
            except OSError as exc:  # a full disk must not fail a search
                log.warning("cannot record a content gap: %s", exc.strerror)
                return False
        return True


def top_gaps(path: Path, n: int = 20) -> list[tuple[str, int]]:
    """The ``n`` most frequent zero-result questions in a gaps log, most frequent first."""
    counts: Counter[str] = Counter()
    with open(path, "rb") as handle:
        for line in handle:
            try:
                question = orjson.loads(line).get("q")
            except (orjson.JSONDecodeError, AttributeError):
                continue  # a line cut short by a crash: skip it, keep the rest
            if isinstance(question, str) and question:
                counts[question] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
