"""How repeated measurements are ordered and summarised, one way everywhere.

Percentiles are linear interpolation between the closest ranks (numpy's default method), from the
standard library so that the load generator, which shares two cores with the server it measures,
imports nothing heavy. Rounds rotate who goes first, so no engine or endpoint always meets the
coldest (or warmest) machine.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentiles(values: Sequence[float], points: Sequence[int]) -> list[float | None]:
    """The given percentiles (whole numbers 1-99) of ``values``; None for each when there are none."""
    if not values:
        return [None for _ in points]
    if len(values) == 1:  # statistics.quantiles wants two points before Python 3.13
        return [float(values[0]) for _ in points]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return [cuts[point - 1] for point in points]


def rotated(items: Sequence, by: int) -> list:
    """``items`` starting at position ``by`` (modulo their number)."""
    at = by % len(items)
    return [*items[at:], *items[:at]]
