"""Bare exports: ``AutoModel.from_pretrained("model.onnx" | "model.torchscript")`` from the embedded metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers.tiny_yolo import WHITE, grey, onnx_head, torchscript_head
from test_yolo_families import DETECTION_HEAD, EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES, check

from inference_exp.auto_model import AutoModel
from inference_exp.errors import CorruptedModelPackageError, ModelLoadingError
from inference_exp.models.yolo.classification import YoloClassification
from inference_exp.models.yolo.ultralytics import (
    YoloV8InstanceSegmentation,
    YoloV8KeyPointsDetection,
    YoloV8ObjectDetection,
)
from inference_exp.models.yolo.yolov5 import YoloV5ObjectDetection
from inference_exp.models.yolo.yolov10 import YoloV10ObjectDetection
from inference_exp.weights_providers.bare_exports import describe_export, read_onnx_facts

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def ultralytics_metadata(task: str, names: dict, **extra: str) -> dict[str, str]:
    return {
        "description": "Ultralytics YOLO11n model",
        "stride": "32",
        "task": task,
        "batch": "1",
        "imgsz": "[64, 64]",
        "names": repr(names),
        "args": "{'batch': 1, 'nms': None, 'dynamic': False}",
        "end2end": "False",
        **extra,
    }


def test_ultralytics_onnx_detector(tmp_path: Path) -> None:
    path = onnx_head(tmp_path / "export" / "best.onnx", [DETECTION_HEAD],
                     metadata=ultralytics_metadata("detect", {0: "cat", 1: "dog"}))
    model = AutoModel.from_pretrained(path)
    assert isinstance(model, YoloV8ObjectDetection)
    assert model.negotiation.model_architecture == "yolov11"
    assert list(model.class_names) == ["cat", "dog"]
    check(model(WHITE)[0], EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)
    # Ultralytics' letterbox: grey (114) borders; a 128 x 64 white image gets 16 grey rows above and below
    assert model.config.network_input.padding_value == 114 and model.config.network_input.resize_mode == "letterbox"
    # nothing written next to the user's file; the generated package lives under the cache root
    assert sorted(p.name for p in path.parent.iterdir()) == ["best.onnx"]
    package_dir = model.loaded_package.package_dir
    assert package_dir.is_relative_to(Path(os.environ["INFERENCE_HOME"]))
    assert (package_dir / "weights.onnx").resolve() == path.resolve()
    # the same export resolves to the same generated package; a changed file to a new one
    assert AutoModel.from_pretrained(path).loaded_package.package_dir == package_dir
    os.utime(path, ns=(1, 1))
    assert AutoModel.from_pretrained(path).loaded_package.package_dir != package_dir


def test_names_are_parsed_as_literals_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    names = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    path = onnx_head(tmp_path / "evil.onnx", [DETECTION_HEAD],
                     metadata={**ultralytics_metadata("detect", {}), "names": names})
    with pytest.raises(CorruptedModelPackageError, match="class names"):
        AutoModel.from_pretrained(path)
    assert not marker.exists()


def test_segmentation_pose_and_classification_exports(tmp_path: Path) -> None:
    from test_yolo_families import segmentation_tables

    seg = onnx_head(tmp_path / "seg.onnx", segmentation_tables(), metadata=ultralytics_metadata("segment", {0: "blob"}))
    model = AutoModel.from_pretrained(seg)
    assert isinstance(model, YoloV8InstanceSegmentation)
    assert model(WHITE)[0].mask.sum(dim=(1, 2)).tolist() == [32 * 32 - 1, 20 * 20]

    pose_head = np.zeros((4 + 1 + 2 * 3, 1), np.float32)
    pose_head[:, 0] = [20, 20, 10, 10, 0.9, 10, 11, 0.9, 12, 13, 0.2]
    pose = onnx_head(tmp_path / "pose.onnx", [pose_head],
                     metadata=ultralytics_metadata("pose", {0: "person"}, kpt_shape="[2, 3]"))
    model = AutoModel.from_pretrained(pose)
    assert isinstance(model, YoloV8KeyPointsDetection)
    (points,), _ = model(WHITE)
    assert points.xy.tolist() == [[[10, 11], [12, 13]]]
    assert points.keypoint_names == [["0", "1"]]

    cls = onnx_head(tmp_path / "cls.onnx", [np.array([0.2, 0.5, 0.3], np.float32)], size=(16, 16),
                    metadata=ultralytics_metadata("classify", {0: "a", 1: "b", 2: "c"}, imgsz="[16, 16]"))
    model = AutoModel.from_pretrained(cls)
    assert isinstance(model, YoloClassification)
    prediction = model(grey(255, 40, 20))
    assert prediction.probabilities[0].tolist() == pytest.approx([0.2, 0.5, 0.3])  # softmax already in the graph
    # Ultralytics' classify transform: 20 x 40 (w x h) → shorter side 16 → 16 x 32 → center crop of rows 8..24
    assert prediction.images_metadata[0]["pad_top"] == -8 and prediction.images_metadata[0]["scale_x"] == 0.8


def test_end_to_end_exports(tmp_path: Path) -> None:
    rows = np.array([[0, 0, 10, 10, 0.3, 1], [5, 5, 20, 20, 0.25, 0]], dtype=np.float32)
    v10 = onnx_head(tmp_path / "v10.onnx", [rows], metadata=ultralytics_metadata(
        "detect", {0: "a", 1: "b"}, description="Ultralytics YOLOv10n model", head="v10Detect", end2end="True"))
    model = AutoModel.from_pretrained(v10)
    assert isinstance(model, YoloV10ObjectDetection)
    assert model(WHITE)[0].confidence.tolist() == pytest.approx([0.3])  # score > confidence
    fused = onnx_head(tmp_path / "nms.onnx", [rows], metadata=ultralytics_metadata(
        "detect", {0: "a", 1: "b"}, args="{'nms': True}", end2end="True"))
    model = AutoModel.from_pretrained(fused)
    assert isinstance(model, YoloV8ObjectDetection) and model.nms_fused
    assert model(WHITE)[0].confidence.tolist() == pytest.approx([0.3, 0.25])  # NMS fused: score >= confidence


def test_yolov5_onnx_export_takes_its_size_from_the_graph(tmp_path: Path) -> None:
    rows = np.array([[10, 10, 4, 4, 0.5, 0.6, 0.9]], dtype=np.float32)
    path = onnx_head(tmp_path / "yolov5s.onnx", [rows], size=(32, 32),
                     metadata={"stride": "32", "names": "{0: 'a', 1: 'b'}"})
    model = AutoModel.from_pretrained(path)
    assert isinstance(model, YoloV5ObjectDetection)
    assert model.config.network_input.training_input_size.height == 32
    check(model(grey(255, 32, 32))[0], [[8, 8, 12, 12]], [1], [0.45])


def test_torchscript_exports(tmp_path: Path) -> None:
    config = {"task": "detect", "batch": 1, "imgsz": [64, 64], "names": {"0": "cat", "1": "dog"},
              "description": "Ultralytics YOLOv8n model", "end2end": False}
    path = torchscript_head(tmp_path / "best.torchscript", [DETECTION_HEAD], config=config)
    model = AutoModel.from_pretrained(path)
    assert isinstance(model, YoloV8ObjectDetection) and model.runner.static_batch_size == 1
    results = model([WHITE, WHITE, WHITE])  # three calls of one image each
    for detections in results:
        check(detections, EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)
    rows = np.array([[10, 10, 4, 4, 0.5, 0.6, 0.9]], dtype=np.float32)
    yolov5 = torchscript_head(tmp_path / "yolov5.torchscript", [rows], size=(32, 32),
                              config={"shape": [1, 3, 32, 32], "stride": 32, "names": ["a", "b"]})
    model = AutoModel.from_pretrained(yolov5)
    assert isinstance(model, YoloV5ObjectDetection)
    check(model(grey(255, 32, 32))[0], [[8, 8, 12, 12]], [1], [0.45])


def test_exports_this_library_does_not_run(tmp_path: Path) -> None:
    obb = onnx_head(tmp_path / "obb.onnx", [DETECTION_HEAD], metadata=ultralytics_metadata("obb", {0: "a", 1: "b"}))
    with pytest.raises(ModelLoadingError, match="'obb'"):
        AutoModel.from_pretrained(obb)
    plain = onnx_head(tmp_path / "plain.onnx", [DETECTION_HEAD])
    with pytest.raises(ModelLoadingError, match="no loader recognises"):
        AutoModel.from_pretrained(plain)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(CorruptedModelPackageError, match="not a readable ONNX model"):
        AutoModel.from_pretrained(garbage)
    two_d = onnx_head(tmp_path / "pose2d.onnx", [DETECTION_HEAD],
                      metadata=ultralytics_metadata("pose", {0: "a"}, kpt_shape="[17, 2]"))
    with pytest.raises(ModelLoadingError, match="2 values each"):
        AutoModel.from_pretrained(two_d)


def test_onnx_facts_match_the_onnx_library(tmp_path: Path) -> None:
    metadata = ultralytics_metadata("detect", {0: "a"})
    path = onnx_head(tmp_path / "m.onnx", [DETECTION_HEAD], batch=2, size=(48, 32), metadata=metadata)
    facts = read_onnx_facts(path)
    loaded = onnx.load(path)
    assert facts.metadata == {p.key: p.value for p in loaded.metadata_props} == metadata
    assert facts.input_shape == (2, 3, 48, 32)
    assert read_onnx_facts(onnx_head(tmp_path / "d.onnx", [DETECTION_HEAD])).input_shape == (None, 3, 64, 64)


def test_description_of_a_torchscript_without_config_is_none(tmp_path: Path) -> None:
    path = torchscript_head(tmp_path / "m.torchscript", [DETECTION_HEAD])
    assert describe_export(path) is None
    (tmp_path / "bad.torchscript").write_text(json.dumps({}))
    with pytest.raises(CorruptedModelPackageError):
        describe_export(tmp_path / "bad.torchscript")


def test_classify_transform_on_tensor_inputs(tmp_path: Path) -> None:
    import torch

    cls = onnx_head(tmp_path / "cls.onnx", [np.array([0.2, 0.5, 0.3], np.float32)], size=(16, 16),
                    metadata=ultralytics_metadata("classify", {0: "a", 1: "b", 2: "c"}, imgsz="[16, 16]"))
    model = AutoModel.from_pretrained(cls)
    from_array = model(grey(255, 40, 20))
    from_uint8 = model(torch.full((3, 40, 20), 255, dtype=torch.uint8))  # resized exactly like numpy images
    from_float = model(torch.ones(3, 40, 20))  # resized in float on the tensor's device
    assert torch.equal(from_uint8.probabilities, from_array.probabilities)
    assert torch.allclose(from_float.probabilities, from_array.probabilities, atol=1e-6)
    assert from_uint8.images_metadata == from_float.images_metadata == from_array.images_metadata


def test_graphs_with_free_height_and_width_take_an_image_size(tmp_path: Path) -> None:
    path = onnx_head(tmp_path / "dynamic.onnx", [DETECTION_HEAD], size=("height", "width"),
                     metadata=ultralytics_metadata("detect", {0: "cat", 1: "dog"}, stride="16"))
    model = AutoModel.from_pretrained(path)
    network = model.config.network_input
    assert network.dynamic_spatial_size_supported and network.dynamic_spatial_size_mode.value == 16
    check(model(WHITE)[0], EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)  # imgsz 64 by default
    (detections,) = model(WHITE, image_size=30)  # rounded up to 32: half the scale, boxes twice as large
    assert detections.image_metadata["inference_size"] == {"height": 32, "width": 32}
    check(detections, [[2 * v for v in box] for box in EXPECTED_BOXES], EXPECTED_CLASSES, EXPECTED_SCORES)
