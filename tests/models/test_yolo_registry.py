"""The YOLO rows of the built-in registry: which class serves which (architecture, task, backend)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.tiny_yolo import WHITE, inference_config, write_package

from inference_exp.auto_model import AutoModel
from inference_exp.errors import NoModelPackagesAvailableError
from inference_exp.models.registry import registry_entry, resolve_model_class

ULTRALYTICS = {
    "object-detection": "YoloV8ObjectDetection",
    "instance-segmentation": "YoloV8InstanceSegmentation",
    "keypoint-detection": "YoloV8KeyPointsDetection",
}


@pytest.mark.parametrize("architecture", ["yolov8", "yolov9", "yolov11", "yolo11", "yolov12"])
@pytest.mark.parametrize("task", sorted(ULTRALYTICS))
@pytest.mark.parametrize("backend", ["onnx", "torch-script"])
def test_ultralytics_head_architectures(architecture: str, task: str, backend: str) -> None:
    assert resolve_model_class(architecture, task, backend).__name__ == ULTRALYTICS[task]
    assert registry_entry(architecture, task, backend).feature_problem(["nms_fused"]) is None


@pytest.mark.parametrize(
    ("architecture", "task", "backends", "name"),
    [
        ("yolov8", "classification", ["onnx"], "YoloClassification"),
        ("yolov11", "classification", ["onnx"], "YoloClassification"),
        ("yolov5", "object-detection", ["onnx", "torch-script"], "YoloV5ObjectDetection"),
        ("yolov10", "object-detection", ["onnx", "torch-script"], "YoloV10ObjectDetection"),
    ],
)
def test_other_yolo_rows(architecture: str, task: str, backends: list[str], name: str) -> None:
    for backend in backends:
        assert resolve_model_class(architecture, task, backend).__name__ == name
        assert registry_entry(architecture, task, backend).feature_problem(["nms_fused"]) is not None


def test_unverified_combinations_stay_unregistered() -> None:
    assert registry_entry("yolov5", "instance-segmentation", "onnx") is None  # no real export to verify against
    assert registry_entry("yolov8", "classification", "torch-script") is None
    assert registry_entry("yolov8", "object-detection", "trt") is None


def test_a_package_declaring_fused_nms_needs_the_preference(tmp_path: Path) -> None:
    rows = np.array([[0, 0, 10, 10, 0.9, 1]], dtype=np.float32)
    config = inference_config(post_processing={"type": "nms", "fused": True})
    directory = write_package(tmp_path / "package", [rows], architecture="yolov8", task="object-detection",
                              class_names=["a", "b"], config=config)
    model_config = json.loads((directory / "model_config.json").read_text())
    model_config["model_features"] = {"nms_fused": {
        "max_detections": 300, "confidence_threshold": 0.25, "iou_threshold": 0.7, "class_agnostic": False,
    }}
    (directory / "model_config.json").write_text(json.dumps(model_config))
    with pytest.raises(NoModelPackagesAvailableError, match="nms_fusion_preferences"):
        AutoModel.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory, nms_fusion_preferences=True)
    assert model(WHITE)[0].class_id.tolist() == [1]
