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

from .embedding import open_session
from .version import SCAN as SCAN_MODEL

ZERO_POINT = 128
LEVELS = 127
QUESTION_ROWS = 2  # the question, then its rounding error
# Rounding in the float32 arithmetic on both sides of the comparison, far below any real margin.
SLACK = 1e-5


def quantise_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """int8 rows, each row's scale and quantisation error |v - v'|, and the largest |v'|
    (float32 arithmetic: its rounding, ~1e-7, is far inside SLACK)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1, initial=0.0) / np.float32(LEVELS)
    scales[scales == 0] = 1.0
    levels = np.rint(vectors / scales[:, None])
    np.clip(levels, -LEVELS, LEVELS, out=levels)
    restored = levels * scales[:, None]
    errors = np.sqrt(np.einsum("ij,ij->i", vectors - restored, vectors - restored))
    largest_norm = float(np.sqrt(np.einsum("ij,ij->i", restored, restored)).max(initial=0.0))
    return levels.astype(np.int8), scales.astype(np.float32), errors.astype(np.float32), largest_norm


def write_scan(folder: Path, vectors: np.ndarray) -> None:
    """scan.onnx for these vectors (the build's side; the ``onnx`` package writes the graph)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    quantised, scales, errors, largest_norm = quantise_rows(vectors)
    rows, dimensions = quantised.shape
    node = helper.make_node
    nodes = [
        node("MatMulInteger", ["question", "passages", "zero_point"], ["products"]),
        node("Cast", ["products"], ["products_float"], to=TensorProto.FLOAT),
        node("Mul", ["products_float", "step"], ["stepped"]),
        node("ReduceSum", ["stepped", "first_axis"], ["summed"], keepdims=1),
        node("Mul", ["summed", "scales"], ["approximate"]),
        node("Mul", ["question_error", "largest_norm"], ["question_term"]),
        node("Add", ["errors", "question_term"], ["margin"]),
        node("Sub", ["approximate", "margin"], ["lower"]),
        node("Add", ["approximate", "margin"], ["upper"]),
    ]
    constants = {"passages": np.ascontiguousarray(quantised.T), "zero_point": np.array(ZERO_POINT, dtype=np.uint8),
                 "first_axis": np.array([0], dtype=np.int64), "scales": scales, "errors": errors + np.float32(SLACK),
                 "largest_norm": np.array([largest_norm], dtype=np.float32)}
    graph = helper.make_graph(
        nodes, "passage_scan",
        [helper.make_tensor_value_info("question", TensorProto.UINT8, [QUESTION_ROWS, dimensions]),
         helper.make_tensor_value_info("step", TensorProto.FLOAT, [QUESTION_ROWS, 1]),
         helper.make_tensor_value_info("question_error", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("lower", TensorProto.FLOAT, [1, rows]),
         helper.make_tensor_value_info("upper", TensorProto.FLOAT, [1, rows])],
        initializer=[numpy_helper.from_array(value, name) for name, value in constants.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime this project has pinned
    onnx.save_model(model, str(folder / SCAN_MODEL))


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
            raise ValueError(f"{SCAN_MODEL} scans {lower.shape} rows of {question.shape}, "
                             f"expected {rows} of {dimensions}")

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
        lower, upper = self._session.run(["lower", "upper"], {
            "question": (np.stack(levels) + ZERO_POINT).astype(np.uint8),
            "step": np.array(steps, dtype=np.float32)[:, None],
            "question_error": np.array([np.linalg.norm(remainder)], dtype=np.float32)})
        return Bounds(lower=lower[0], upper=upper[0])


def open_scan(folder: Path, rows: int, dimensions: int) -> PassageScan | None:
    """The version's pre-scan, or None when it has none (built before it existed: scanned exactly)."""
    if not (folder / SCAN_MODEL).is_file():
        return None
    return PassageScan(folder, rows, dimensions)
