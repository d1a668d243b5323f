"""Progress of a long job (embedding a corpus): a live bar on a terminal, plain lines in a log.

A terminal gets tqdm's bar with rate and ETA. Anything else (CI logs, `build > log`, systemd) gets
one plain line each time another tenth of the work is done or half a minute has passed, whichever
comes first, with the rate and ETA in the same words — a carriage-return bar is noise in a log file.

The bar is built without tqdm's monitor thread: the index build forks only from a single-threaded
process (service.build.forked.can_fork), and a lingering monitor thread would quietly turn that off.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

LINE_EVERY_FRACTION = 0.1
LINE_EVERY_SECONDS = 30.0


class _Bar(tqdm):
    monitor_interval = 0  # no TMonitor thread (see module docstring)


class Progress:
    """Counts finished items of a job of known size and reports them on ``stream``.

    Use as a context manager; ``update(n)`` after each finished piece of work. ``stream=None``
    means stderr; a stream whose ``isatty()`` is true gets the bar, any other the plain lines.
    """

    def __init__(
        self,
        total: int,
        label: str,
        unit: str = "item",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._clock = clock
        self._started = clock()
        self._last_line_at = self._started
        self._last_line_done = 0
        self._bar = self._make_bar() if _is_terminal(self.stream) else None

    def _make_bar(self) -> tqdm:
        # A terminal that reports no width (a pty without a size) would get an empty bar.
        sized = _terminal_columns(self.stream) > 0
        return _Bar(
            total=self.total,
            desc=self.label,
            unit=f" {self.unit}",
            file=self.stream,
            dynamic_ncols=sized,
            ncols=None if sized else 80,
            smoothing=0.1,
        )

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._line_due():
            self._write_line()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.done != self._last_line_done or self.total == 0:
            self._write_line()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _line_due(self) -> bool:
        if self.done >= self.total:
            return True
        step = max(1, math.ceil(self.total * LINE_EVERY_FRACTION))
        if self.done // step > self._last_line_done // step:
            return True
        return self._clock() - self._last_line_at >= LINE_EVERY_SECONDS

    def _write_line(self) -> None:
        now = self._clock()
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        percent = 100 * self.done / self.total if self.total else 100
        text = f"{self.label}: {self.done}/{self.total} {self.unit}s ({percent:.0f}%)"
        if self.done >= self.total:
            text += f" in {_duration(elapsed)} ({rate:.1f}/s)"
        elif rate > 0:
            text += f", {rate:.1f}/s, ETA {_duration((self.total - self.done) / rate)}"
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line_at = now
        self._last_line_done = self.done


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _terminal_columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
