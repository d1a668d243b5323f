"""run_parts: results in part order, a failing or dying child is an error in the parent."""

from __future__ import annotations

import os

import pytest

from service.build.forked import ChildFailed, run_parts


def _square_with_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def _fail_on_two(n: int) -> int:
    if n == 2:
        raise ValueError("two is not allowed")
    return n


def _die_on_two(n: int) -> int:
    if n == 2:
        os._exit(3)
    return n


def test_results_come_back_in_part_order_from_other_processes() -> None:
    results = run_parts(_square_with_pid, [1, 2, 3])
    assert [value for value, _ in results] == [1, 4, 9]
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid() and len(set(pids)) == 3


def test_an_exception_in_a_child_is_raised_in_the_parent() -> None:
    with pytest.raises(ChildFailed, match="ValueError: two is not allowed"):
        run_parts(_fail_on_two, [1, 2])


def test_a_child_that_dies_is_reported_with_its_exit_code() -> None:
    with pytest.raises(ChildFailed, match="exit code 3"):
        run_parts(_die_on_two, [1, 2])
