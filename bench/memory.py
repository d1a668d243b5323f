"""Resident memory of a process tree: a server's workers and a build's forked writer are part of
what it costs, so the RSS of the first process alone would under-report."""

from __future__ import annotations

from collections.abc import Callable

import psutil


def tree_rss(pid: int) -> list[int]:
    """RSS in bytes of the process ``pid`` and each of its live descendants (empty once it is gone)."""
    return _each_in_tree(pid, lambda process: process.memory_info().rss)


def tree_pss(pid: int) -> list[int]:
    """PSS in bytes of the same processes: each shared page counted once across the tree (split
    between its sharers), so the sum is what the tree really holds. RSS counts the memory-mapped
    passage vectors once per worker that reads them; PSS says what a second worker adds."""
    return _each_in_tree(pid, lambda process: process.memory_full_info().pss)


def _each_in_tree(pid: int, figure: Callable[[psutil.Process], int]) -> list[int]:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    sizes = []
    for process in processes:
        try:
            sizes.append(figure(process))
        except (psutil.Error, AttributeError):  # exited between the listing and the reading; no PSS here
            pass
    return sizes
