"""Writing a version's int8 pre-scan, ``scan.onnx`` (the graph ``service.index.scan`` reads and
documents). Build side only: it needs the ``onnx`` package, which the server never imports."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.index.scan import LEVELS, QUESTION_ROWS, SLACK, ZERO_POINT
from service.index.version import SCAN as SCAN_MODEL


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
    constants = {
        "passages": np.ascontiguousarray(quantised.T),
        "zero_point": np.array(ZERO_POINT, dtype=np.uint8),
        "first_axis": np.array([0], dtype=np.int64),
        "scales": scales,
        "errors": errors + np.float32(SLACK),
        "largest_norm": np.array([largest_norm], dtype=np.float32),
    }
    graph = helper.make_graph(
        nodes,
        "passage_scan",
        [
            helper.make_tensor_value_info("question", TensorProto.UINT8, [QUESTION_ROWS, dimensions]),
            helper.make_tensor_value_info("step", TensorProto.FLOAT, [QUESTION_ROWS, 1]),
            helper.make_tensor_value_info("question_error", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("lower", TensorProto.FLOAT, [1, rows]),
            helper.make_tensor_value_info("upper", TensorProto.FLOAT, [1, rows]),
        ],
        initializer=[numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime this project has pinned
    onnx.save_model(model, str(folder / SCAN_MODEL))
