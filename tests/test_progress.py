"""Progress of long jobs: plain lines in logs, tqdm's bar on a terminal, no thread left behind."""

from __future__ import annotations

import fcntl
import io
import os
import re
import struct
import termios
import threading

import pytest

from service.build.progress import Progress


class FakeClock:
    """A clock the test moves by hand, so the 30-second rule is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_every_tenth_with_rate_and_eta():
    stream, clock = io.StringIO(), FakeClock()
    with Progress(200, "embedding passages", "passage", stream, clock=clock) as progress:
        for _ in range(200):
            clock.now += 0.5
            progress.update(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == "embedding passages: 20/200 passages (10%), 2.0/s, ETA 1m30s"
    assert all(re.search(r", 2\.0/s, ETA \d", line) for line in lines[:-1])
    assert lines[-1] == "embedding passages: 200/200 passages (100%) in 1m40s (2.0/s)"
    assert "\r" not in stream.getvalue()


def test_a_slow_job_still_reports_every_30_seconds():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(1000, "embedding passages", "passage", stream, clock=clock)
    clock.now += 29
    progress.update(1)
    assert stream.getvalue() == ""
    clock.now += 2
    progress.update(1)
    assert stream.getvalue() == "embedding passages: 2/1000 passages (0%), 0.1/s, ETA 4h17m\n"
    progress.update(1)  # too soon after the last line, and no new tenth
    assert stream.getvalue().count("\n") == 1
    progress.close()
    assert stream.getvalue().splitlines()[-1].startswith("embedding passages: 3/1000 passages (0%)")


def test_an_empty_job_says_so_once():
    stream = io.StringIO()
    with Progress(0, "embedding passages", "passage", stream):
        pass
    assert stream.getvalue().startswith("embedding passages: 0/0 passages (100%) in 0s")


@pytest.mark.parametrize("columns", [100, 0])
def test_a_terminal_gets_a_live_bar_and_no_monitor_thread(columns):
    """A real pseudo-terminal: tqdm redraws one line with rate and ETA; the build can still fork.
    A terminal that reports no width still gets a readable bar."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    threads_before = threading.active_count()
    with os.fdopen(terminal, "w") as stream:
        with Progress(50, "embedding passages", "passage", stream) as progress:
            for _ in range(50):
                progress.update(1)
            assert threading.active_count() == threads_before
    shown = _read_all(controller)
    assert "\r" in shown and "embedding passages" in shown
    assert "50/50" in shown and "passage/s" in shown, repr(shown)


def _read_all(controller: int) -> str:
    """Everything the terminal received; once the other side is closed a read ends in EIO."""
    received = b""
    try:
        while chunk := os.read(controller, 65536):
            received += chunk
    except OSError:
        pass
    finally:
        os.close(controller)
    return received.decode()
