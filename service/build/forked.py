"""Run one function over a few parts of the work at once: the first part here, each other part in
a forked child process whose result comes back through a pipe.

Fork, because the parts are already in memory: a forked child sees them without pickling (a
process pool would pickle every argument through a queue) and starts in milliseconds without
re-importing the caller's main module. Forking is only safe in a single-threaded process; callers
check ``can_fork`` first.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

PR_SET_PDEATHSIG = 1  # linux/prctl.h
Part = TypeVar("Part")
Result = TypeVar("Result")


class ChildFailed(RuntimeError):
    """A child process raised, or died before sending its result."""


def can_fork() -> bool:
    # A fork copies only the calling thread: a lock held by another thread (a server's) stays locked.
    return threading.active_count() == 1


def run_parts(work: Callable[[Part], Result], parts: Sequence[Part]) -> list[Result]:
    """``[work(p) for p in parts]``, the parts after the first computed in forked children."""
    context = multiprocessing.get_context("fork")
    children = []
    try:
        for part in parts[1:]:
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(work, part, send, os.getpid()), daemon=True)
            child.start()
            send.close()
            children.append((child, receive))
        results = [work(parts[0])] if parts else []
        for child, receive in children:
            results.append(_result_of(child, receive))
        return results
    finally:
        for child, _ in children:
            if child.is_alive():
                child.terminate()
            child.join()


def _child(work: Callable[[Part], Result], part: Part, send: Connection, parent: int) -> None:
    _die_with(parent)
    outcome: tuple[str, object]
    try:
        outcome = ("ok", work(part))
    except BaseException as exc:  # reported to the parent, which raises
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    send.send(outcome)
    send.close()


def _die_with(parent: int) -> None:
    """Linux: be killed when the parent dies, even by SIGKILL (a killed build leaves no orphan
    writing into its draft and holding the build lock it inherited)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child ends when it next writes to the pipe
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _result_of(child: BaseProcess, receive: Connection) -> Any:
    try:
        with receive:
            status, value = receive.recv()
    except EOFError:
        child.join()
        raise ChildFailed(f"worker process {child.pid} died (exit code {child.exitcode})") from None
    if status != "ok":
        raise ChildFailed(f"worker process {child.pid} failed: {value}")
    return value
