"""Tiny PP-OCR packages with known behaviour, built from ``onnx.helper`` graphs.

* detector: the text probability of a pixel is its brightest channel, ``(max_c x + 1) / 2`` of the normalised
  input — so any pixel with a channel at 255 is text with probability 1, black is 0;
* recogniser: one step per input column; the class scores of a column are ``gain x`` the column means of the
  normalised B, G, R channels plus a bias towards the blank, softmaxed — with the dictionary ``a`` the classes
  are blank (blue), ``a`` (green) and space (red); black and faint columns (edges blurred by resizing) are
  blank.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from inference_exp.models.base import LoadOptions
from inference_exp.models.ppocr.package import (
    CHARACTERS_FILE,
    detection_inference_config,
    recognition_inference_config,
)
from inference_exp.packages.types import BackendType

#: Text detection unclips regions with pyclipper (the ``ocr`` extra).
needs_pyclipper = pytest.mark.skipif(
    importlib.util.find_spec("pyclipper") is None,
    reason="pyclipper is not installed (pip install pyclipper, or the ocr extra): PP-OCR text detection needs it",
)
ONNX_OPTIONS = LoadOptions(backend=BackendType.ONNX, extra={"onnx_intra_op_num_threads": 1})
REC_GAIN = 20.0
REC_BLANK_BIAS = 10.0
BLUE, GREEN, RED = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _save(graph, path: Path) -> None:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _model_config(directory: Path, architecture: str, task: str) -> None:
    """The local-package ``model_config.json`` that lets ``AutoModel`` load the directory by path."""
    config = {"model_architecture": architecture, "task_type": task, "backend_type": "onnx"}
    (directory / "model_config.json").write_text(json.dumps(config))


def detector_package(directory: Path) -> Path:
    """A detector package whose probability map is ``(max over channels of the input + 1) / 2``."""
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMax", ["x"], ["m"], axes=[1], keepdims=1),
            helper.make_node("Add", ["m", "one"], ["s"]),
            helper.make_node("Mul", ["s", "half"], ["probability"]),
        ],
        "brightest_channel",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, "h", "w"])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["b", 1, "h", "w"])],
        initializer=[
            helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
            helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
        ],
    )
    _save(graph, directory / "weights.onnx")
    (directory / "inference_config.json").write_text(json.dumps(detection_inference_config()))
    (directory / "class_names.txt").write_text("text\n")
    _model_config(directory, "pp-ocrv4-det", "object-detection")
    return directory


def recognizer_package(directory: Path, characters: str = "a\n") -> Path:
    """A recogniser package with one step per column and classes blank / ``a`` / space (see the module doc)."""
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["x"], ["rows"], axes=[2], keepdims=0),  # (B, 3, W)
            helper.make_node("Transpose", ["rows"], ["steps"], perm=[0, 2, 1]),  # (B, W, 3)
            helper.make_node("Mul", ["steps", "gain"], ["scaled"]),
            helper.make_node("Add", ["scaled", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        "column_colours",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, 48, "w"])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["b", "w", 3])],
        initializer=[
            helper.make_tensor("gain", TensorProto.FLOAT, [], [REC_GAIN]),
            helper.make_tensor("bias", TensorProto.FLOAT, [3], [REC_BLANK_BIAS, 0.0, 0.0]),
        ],
    )
    _save(graph, directory / "weights.onnx")
    (directory / "inference_config.json").write_text(json.dumps(recognition_inference_config()))
    (directory / CHARACTERS_FILE).write_text(characters, encoding="utf-8")
    _model_config(directory, "pp-ocrv4-rec", "text-only-ocr")
    return directory


def column_probability(lit_fraction: float = 1.0) -> float:
    """The recogniser's probability of ``a`` (or space) for a column whose green (or red) channel covers
    ``lit_fraction`` of the rows.

    Normalised values are +1 where a channel is 255 and -1 where it is 0, so the lit channel's mean is
    ``2 f - 1`` and the others' ``-1``; the blank's score also gets the bias.
    """
    lit = REC_GAIN * (2 * lit_fraction - 1)
    blank, other = -REC_GAIN + REC_BLANK_BIAS, -REC_GAIN
    return math.exp(lit) / (math.exp(lit) + math.exp(blank) + math.exp(other))


def striped_crop(colours: list[tuple[int, int, int]], column_width: int = 1, height: int = 48) -> np.ndarray:
    """A BGR crop made of vertical stripes of the given colours, ``column_width`` pixels each."""
    crop = np.zeros((height, column_width * len(colours), 3), dtype=np.uint8)
    for index, colour in enumerate(colours):
        crop[:, index * column_width : (index + 1) * column_width] = colour
    return crop
