"""The int8 pre-scan of a version's passage vectors: every cosine, bounded, for a fraction of a scan.

Why: the exact scan reads every float32 vector (46 MB on MedQuAD) for each question, ~3 ms on one
core and, after the model run, the largest cost of a hybrid question; with two BLAS threads it is
faster alone but takes the second core from concurrent requests. Stored as int8 (one scale per
row) the same vectors are 11.5 MB, and ONNX Runtime's integer matrix product (``MatMulInteger``,
the matrix prepacked as an initializer) scans them on one thread in 0.2-0.5 ms. numpy has no
fast int8 product (5-12 ms measured).

The scan is never the answer, only a filter: each approximate cosine comes with an error bound
that is proven, not estimated, so the search knows which passages cannot be among the best or
cannot clear the floor, and computes the exact float32 cosine of every other one. The ranking
is the exact scan's (tests compare them).

For a row v (scale s = max|v| / 127, quantised v' = s·round(v / s)) and a question q (quantised
q' the same way with its own scale), the exact cosine c = v·q and the scanned a = v'·q' differ by

    |c - a| = |(v - v')·q + v'·(q - q')| <= |v - v'| |q| + |v'| |q - q'|      (Cauchy-Schwarz)

|q| = 1; |v - v'| is stored per row (~0.007 on MedQuAD); |v'| is at most the largest row norm
(≈ 1.0016). The question goes in as two rows, q' and its own rounding error quantised again, which
the same pass over the matrix multiplies at once: |q - q'| falls from ~0.007 to ~0.0001, halving
the bound and so the rows that need an exact cosine. The bound is then ~0.007 where the real
error is at most ~0.003: the price of a guarantee.

A version's ``scan.onnx`` (optional: a version without one is scanned exactly) is one small graph
holding the int8 matrix, the row scales and the row errors as initializers:

    inputs   question        uint8 [2, D]   the question and its rounding error, each round(x / step) + 128
             step            float [2, 1]   their scales
             question_error  float [1]      |q - q'| left after both
    outputs  lower, upper    float [1, N]   every passage's cosine lies between them
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.index.embedding import open_session
from service.index.version import SCAN as SCAN_MODEL

ZERO_POINT = 128
LEVELS = 127
QUESTION_ROWS = 2  # the question, then its rounding error
# Rounding in the float32 arithmetic on both sides of the comparison, far below any real margin.
SLACK = 1e-5


@dataclass(frozen=True)
class Bounds:
    """Every passage's cosine with the question lies in [lower, upper]; ``exact`` when they are
    the cosines themselves (an exact scan), so nothing needs computing again."""

    lower: np.ndarray
    upper: np.ndarray
    exact: bool = False

    @classmethod
    def of_cosines(cls, cosines: np.ndarray) -> Bounds:
        return cls(lower=cosines, upper=cosines, exact=True)


class PassageScan:
    """A version's scan.onnx on a one-thread ONNX Runtime session (thread-safe)."""

    def __init__(self, folder: Path, rows: int, dimensions: int) -> None:
        self._session = open_session(folder / SCAN_MODEL)
        question = next(i for i in self._session.get_inputs() if i.name == "question")
        lower = next(o for o in self._session.get_outputs() if o.name == "lower")
        if lower.shape != [1, rows] or question.shape != [QUESTION_ROWS, dimensions]:
            raise ValueError(
                f"{SCAN_MODEL} scans {lower.shape} rows of {question.shape}, expected {rows} of {dimensions}"
            )

    def bounds(self, question: np.ndarray) -> Bounds:
        """Lower and upper bounds of every passage's cosine with the question (unit length)."""
        question = np.asarray(question, dtype=np.float64)
        levels, steps = [], []
        remainder = question
        for _ in range(QUESTION_ROWS):
            step = float(np.abs(remainder).max()) / LEVELS or 1.0
            rounded = np.clip(np.rint(remainder / step), -LEVELS, LEVELS)
            levels.append(rounded)
            steps.append(step)
            remainder = remainder - rounded * step
        lower, upper = self._session.run(
            ["lower", "upper"],
            {
                "question": (np.stack(levels) + ZERO_POINT).astype(np.uint8),
                "step": np.array(steps, dtype=np.float32)[:, None],
                "question_error": np.array([np.linalg.norm(remainder)], dtype=np.float32),
            },
        )
        return Bounds(lower=lower[0], upper=upper[0])


def open_scan(folder: Path, rows: int, dimensions: int) -> PassageScan | None:
    """The version's pre-scan, or None when it has none (built before it existed: scanned exactly)."""
    if not (folder / SCAN_MODEL).is_file():
        return None
    return PassageScan(folder, rows, dimensions)
