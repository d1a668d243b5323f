"""Read-only arrays for an opened index version.

A LoadedIndex is shared by every request thread of a worker for as long as it serves, so nothing
may change it: an array written in place by one request (``hits[rows] = 0`` on the wrong name)
would silently change the answers of all the others. Every array an opened version holds is made
read-only where it is made, so such a write raises at once instead.
"""

from __future__ import annotations

import numpy as np


def frozen(array: np.ndarray) -> np.ndarray:
    """``array`` itself, no longer writable (no copy)."""
    array.flags.writeable = False
    return array
