"""Every YOLO family class on tiny networks with known outputs, loaded through AutoModel like a real package."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.tiny_yolo import WHITE, grey, inference_config, write_package

from inference_exp.auto_model import AutoModel
from inference_exp.entities import ClassificationPrediction, Detections, InstanceDetections, KeyPoints
from inference_exp.errors import CorruptedModelPackageError, InvalidParameterError, ModelRuntimeError
from inference_exp.models.base import LoadOptions
from inference_exp.models.tasks import MultiLabelClassificationModel
from inference_exp.models.yolo.classification import YoloClassification
from inference_exp.models.yolo.ultralytics import (
    YoloV8InstanceSegmentation,
    YoloV8KeyPointsDetection,
    YoloV8ObjectDetection,
)
from inference_exp.models.yolo.yolov5 import YoloV5ObjectDetection
from inference_exp.models.yolo.yolov10 import YoloV10ObjectDetection
from inference_exp.packages.types import BackendType

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

# (cx, cy, w, h, score class 0, score class 1) per anchor; the table is (6, anchors).
DETECTION_HEAD = np.array(
    [
        [10, 10, 8, 8, 0.9, 0.1],
        [11, 10, 8, 8, 0.8, 0.2],  # suppressed by the first (same class, IoU 0.78)
        [11, 10, 8, 8, 0.1, 0.7],  # other class: kept
        [40, 40, 10, 20, 0.25, 0.1],  # at the threshold: dropped
    ],
    dtype=np.float32,
).T
EXPECTED_BOXES = [[6.0, 6.0, 14.0, 14.0], [7.0, 6.0, 15.0, 14.0]]
EXPECTED_CLASSES = [0, 1]
EXPECTED_SCORES = [0.9, 0.7]


def detector(tmp_path: Path, tables, **kwargs) -> object:
    kwargs.setdefault("architecture", "yolov8")
    kwargs.setdefault("task", "object-detection")
    kwargs.setdefault("class_names", ["cat", "dog"])
    return AutoModel.from_pretrained(write_package(tmp_path / "package", tables, **kwargs))


def check(detections: Detections, boxes, classes, scores) -> None:
    assert detections.xyxy.tolist() == boxes
    assert detections.class_id.tolist() == classes
    assert detections.confidence.tolist() == pytest.approx(scores)


@pytest.mark.parametrize("backend", ["onnx", "torch-script"])
def test_ultralytics_detection(tmp_path: Path, backend: str) -> None:
    model = detector(tmp_path, [DETECTION_HEAD], backend=backend)
    assert isinstance(model, YoloV8ObjectDetection)
    (detections,) = model(WHITE)
    check(detections, EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)
    assert detections.class_names == ("cat", "dog") and detections.class_name == ["cat", "dog"]
    assert detections.image_metadata["original_size"] == {"height": 64, "width": 64}
    assert detections.xyxy.dtype == torch.float32 and detections.class_id.dtype == torch.int64
    # per-call parameters, both generations' names
    assert len(model(WHITE, class_agnostic_nms=True)[0]) == 1
    assert len(model(WHITE, class_agnostic=True)[0]) == 1
    assert model(WHITE, conf_thresh=0.2)[0].confidence.tolist() == pytest.approx([0.9, 0.7, 0.25])
    assert len(model(WHITE, confidence=0.2, max_detections=2)[0]) == 2
    assert len(model(WHITE, iou_threshold=0.9)[0]) == 3


def test_boxes_are_mapped_back_to_the_original_image(tmp_path: Path) -> None:
    head = np.array([[32, 32, 16, 8, 0.9, 0.0]], dtype=np.float32).T
    model = detector(tmp_path, [head])
    # 128 x 64 (w x h) → letterbox to 64 x 64: scale 0.5, 16 rows of (white) padding above and below
    (detections,) = model(grey(255, height=64, width=128))
    assert detections.xyxy.tolist() == [[48.0, 24.0, 80.0, 40.0]]
    assert detections.image_metadata["pad_top"] == 16


def test_fused_nms_output_is_only_filtered(tmp_path: Path) -> None:
    rows = np.array(
        [
            [0, 0, 10, 10, 0.9, 1],
            [0, 0, 10, 10, 0.3, 1],  # same box and class as the first: NMS already ran, so it stays
            [5, 5, 20, 20, 0.25, 0],  # exactly at the threshold: kept (>=)
            [5, 5, 20, 20, 0.1, 0],
        ],
        dtype=np.float32,
    )
    config = inference_config(post_processing={"type": "nms", "fused": True})
    model = detector(tmp_path, [rows], config=config)
    (detections,) = model(WHITE)
    check(detections, [[0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 20, 20]], [1, 1, 0], [0.9, 0.3, 0.25])
    assert len(model(WHITE, max_detections=1)[0]) == 1


@pytest.mark.parametrize("backend", ["onnx", "torch-script"])
def test_yolov10_end_to_end_head(tmp_path: Path, backend: str) -> None:
    rows = np.array(
        [
            [0, 0, 10, 10, 0.3, 1],
            [0, 0, 10, 10, 0.9, 1],  # not sorted, not suppressed: the output order is kept
            [5, 5, 20, 20, 0.25, 0],  # exactly at the threshold: dropped (>)
        ],
        dtype=np.float32,
    )
    model = detector(tmp_path, [rows], architecture="yolov10", backend=backend)
    assert isinstance(model, YoloV10ObjectDetection)
    (detections,) = model(WHITE)
    check(detections, [[0, 0, 10, 10], [0, 0, 10, 10]], [1, 1], [0.3, 0.9])
    assert len(model(WHITE, iou_threshold=0.1, max_detections=1)[0]) == 1  # accepted; NMS-free


@pytest.mark.parametrize("backend", ["onnx", "torch-script"])
def test_yolov5_objectness_head(tmp_path: Path, backend: str) -> None:
    rows = np.array(
        [
            [10, 10, 4, 4, 0.5, 0.6, 0.9],  # 0.45, class 1
            [30, 30, 4, 4, 0.2, 1.0, 0.0],  # objectness too low
            [50, 50, 4, 4, 0.9, 0.3, 0.1],  # 0.27, class 0
        ],
        dtype=np.float32,
    )
    model = detector(tmp_path, [rows], architecture="yolov5", backend=backend)
    assert isinstance(model, YoloV5ObjectDetection)
    (detections,) = model(WHITE)
    check(detections, [[8, 8, 12, 12], [48, 48, 52, 52]], [1, 0], [0.45, 0.27])


def test_yolov5u_anchor_free_head(tmp_path: Path) -> None:
    model = detector(tmp_path, [DETECTION_HEAD], architecture="yolov5")
    check(model(WHITE)[0], EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)


def segmentation_tables() -> list[np.ndarray]:
    # (cx, cy, w, h, score, coefficient 0, coefficient 1) per anchor
    head = np.array(
        [
            [20, 20, 40, 40, 0.9, 1, 0],
            [10, 10, 20, 20, 0.8, 1, 0],
            [50, 50, 20, 20, 0.7, 0, 1],  # coefficient on the all-negative prototype: empty mask, dropped
        ],
        dtype=np.float32,
    ).T
    prototypes = np.full((2, 16, 16), -10.0, dtype=np.float32)
    prototypes[0, :8, :8] = 10.0  # positive over network pixels 0..31 once upsampled x4
    return [head, prototypes]


@pytest.mark.parametrize("backend", ["onnx", "torch-script"])
def test_instance_segmentation_masks(tmp_path: Path, backend: str) -> None:
    model = detector(
        tmp_path, segmentation_tables(), task="instance-segmentation", class_names=["blob"], backend=backend
    )
    assert isinstance(model, YoloV8InstanceSegmentation)
    (detections,) = model(WHITE)
    assert isinstance(detections, InstanceDetections)
    check(detections, [[0, 0, 40, 40], [0, 0, 20, 20]], [0, 0], [0.9, 0.8])
    expected = torch.zeros((2, 64, 64), dtype=torch.bool)
    expected[0, :32, :32] = True  # the prototype's positive region, inside the box ...
    expected[0, 31, 31] = False  # ... but bilinear: 0.625² · 10 - (1 - 0.625²) · 10 < 0 at its corner pixel
    expected[1, :20, :20] = True  # cut by the box
    assert torch.equal(detections.mask, expected)


def test_keypoints(tmp_path: Path) -> None:
    head = np.array(
        [
            [20, 20, 10, 10, 0.9, 0.1, 10, 11, 0.9, 12, 13, 0.2, 14, 15, 0.8],
            [50, 50, 10, 10, 0.1, 0.8, 40, 41, 0.7, 42, 43, 0.6, 44, 45, 0.9],  # class 1 has 2 keypoints
        ],
        dtype=np.float32,
    ).T
    model = detector(tmp_path, [head], task="keypoint-detection", keypoints=[3, 2])
    assert isinstance(model, YoloV8KeyPointsDetection)
    assert model.skeletons == [[(0, 1), (1, 2)], [(0, 1)]]
    keypoints, detections = model(WHITE)
    (points,), (boxes,) = keypoints, detections
    assert isinstance(points, KeyPoints)
    check(boxes, [[15, 15, 25, 25], [45, 45, 55, 55]], [0, 1], [0.9, 0.8])
    assert points.class_id.tolist() == [0, 1]
    assert points.xy.tolist() == [[[10, 11], [12, 13], [14, 15]], [[40, 41], [42, 43], [0, 0]]]
    assert points.confidence.flatten().tolist() == pytest.approx([0.9, 0.2, 0.8, 0.7, 0.6, 0.0])
    assert points.keypoint_names == [["kp0", "kp1", "kp2"], ["kp0", "kp1"]]
    thresholded, _ = model(WHITE, key_points_threshold=0.5)
    assert thresholded[0].confidence.flatten().tolist() == pytest.approx([0.9, 0.0, 0.8, 0.7, 0.6, 0.0])
    assert thresholded[0].xy[0, 1].tolist() == [0, 0]


@pytest.mark.parametrize(
    ("post_processing", "expected"),
    [
        ({"type": "softmax", "fused": False}, torch.softmax(torch.tensor([2.0, 1.0, 0.0]), 0).tolist()),
        (None, torch.softmax(torch.tensor([2.0, 1.0, 0.0]), 0).tolist()),
        ({"type": "softmax", "fused": True}, [2.0, 1.0, 0.0]),
    ],
)
def test_classification(tmp_path: Path, post_processing, expected) -> None:
    config = inference_config(resize_mode="stretch", post_processing=post_processing)
    if post_processing is None:
        del config["post_processing"]
    model = detector(
        tmp_path, [np.array([2.0, 1.0, 0.0], np.float32)], task="classification", class_names=["a", "b", "c"],
        config=config,
    )
    assert isinstance(model, YoloClassification)
    prediction = model([WHITE, grey(255, 30, 90)])
    assert isinstance(prediction, ClassificationPrediction)
    assert prediction.class_id.tolist() == [0, 0]
    assert prediction.probabilities[0].tolist() == pytest.approx(expected)
    assert prediction.confidence.tolist() == pytest.approx([expected[0]] * 2)
    assert prediction.class_name == ["a", "a"]
    assert prediction.images_metadata[1]["original_size"] == {"height": 30, "width": 90}


class TinyMultiLabel(MultiLabelClassificationModel):
    """A multi-label family with nothing of its own: the task class decodes ``(B, C)`` logits."""


def test_multi_label_classification(tmp_path: Path) -> None:
    config = inference_config(resize_mode="stretch", post_processing={"type": "sigmoid", "fused": False})
    directory = write_package(
        tmp_path / "package", [np.array([2.0, 0.0, -2.0], np.float32)], architecture="tiny",
        task="multi-label-classification", class_names=["a", "b", "c"], config=config,
    )
    model = TinyMultiLabel.from_pretrained(directory, LoadOptions(backend=BackendType.ONNX))
    (prediction,) = model(WHITE)
    assert prediction.class_ids.tolist() == [0, 1]  # sigmoid 0.88, 0.5 (>= 0.5), 0.12
    assert prediction.probabilities.tolist() == pytest.approx(torch.sigmoid(torch.tensor([2.0, 0.0, -2.0])).tolist())
    assert model(WHITE, confidence=0.6)[0].class_ids.tolist() == [0]
    with pytest.raises(InvalidParameterError):
        model(WHITE, iou_threshold=0.5)


# --- errors ------------------------------------------------------------------------------------------------


def test_bad_parameters_fail_before_running(tmp_path: Path) -> None:
    model = detector(tmp_path, [DETECTION_HEAD])
    with pytest.raises(InvalidParameterError, match="conf_thresh"):
        model(WHITE, conf=0.3)
    with pytest.raises(InvalidParameterError):
        model(WHITE, confidence=2)
    with pytest.raises(InvalidParameterError):
        model(WHITE, max_detections=0)
    with pytest.raises(InvalidParameterError):
        model(WHITE, key_points_threshold=0.3)  # not a detection parameter
    with pytest.raises(InvalidParameterError):
        model(WHITE, input_color_format="hsv")
    assert model(WHITE, input_color_format="rgb", image_size=64)[0].class_id.tolist() == EXPECTED_CLASSES


@pytest.mark.parametrize("missing", ["class_names.txt", "inference_config.json", "weights.onnx", "keypoints_metadata.json"])
def test_missing_files_are_corrupted_packages(tmp_path: Path, missing: str) -> None:
    directory = write_package(
        tmp_path / "package", [np.zeros((15, 2), np.float32)], architecture="yolov8", task="keypoint-detection",
        class_names=["a", "b"], keypoints=[3, 2],
    )
    (directory / missing).unlink()
    with pytest.raises(CorruptedModelPackageError, match=missing):
        AutoModel.from_pretrained(directory)


def test_config_that_does_not_fit_the_family_or_the_graph(tmp_path: Path) -> None:
    softmax = inference_config(post_processing={"type": "softmax", "fused": False})
    with pytest.raises(CorruptedModelPackageError, match="'nms'"):
        detector(tmp_path / "a", [DETECTION_HEAD], config=softmax)
    directory = write_package(
        tmp_path / "b", [DETECTION_HEAD], architecture="yolov8", task="object-detection", class_names=["a", "b"]
    )
    (directory / "inference_config.json").write_text(json.dumps(inference_config(size=(32, 32))))
    with pytest.raises(CorruptedModelPackageError, match="64x64"):
        AutoModel.from_pretrained(directory)


def test_class_names_that_do_not_match_the_head(tmp_path: Path) -> None:
    model = detector(tmp_path, [DETECTION_HEAD], class_names=["a", "b", "c"])
    with pytest.raises(ModelRuntimeError, match=r"class_names\.txt"):
        model(WHITE)


# --- batching ----------------------------------------------------------------------------------------------


class RunnerSpy:
    """Wraps a runner and records the batch sizes it receives."""

    def __init__(self, runner) -> None:
        self.runner, self.sizes = runner, []

    def __getattr__(self, name):
        return getattr(self.runner, name)

    def __call__(self, batch):
        self.sizes.append(int(batch.shape[0]))
        return self.runner(batch)


IMAGES = [grey(v) for v in (255, 200, 150, 60, 255)]


def per_image(model) -> list[list[float]]:
    return [model(image)[0].confidence.tolist() for image in IMAGES]


@pytest.mark.parametrize(
    ("backend", "batch", "forward_pass", "calls"),
    [
        ("onnx", None, None, [5]),
        ("onnx", None, {"max_dynamic_batch_size": 2}, [2, 2, 1]),
        ("onnx", 2, None, [2, 2, 2]),  # static graph: the last chunk is padded
        ("torch-script", None, {"static_batch_size": 2}, [2, 2, 2]),
    ],
)
def test_a_batch_gives_the_per_image_results(tmp_path: Path, backend, batch, forward_pass, calls) -> None:
    config = inference_config(forward_pass=forward_pass)
    model = detector(tmp_path, [DETECTION_HEAD], backend=backend, batch=batch, config=config)
    expected = per_image(model)
    model.runner = spy = RunnerSpy(model.runner)
    results = model(IMAGES)
    assert spy.sizes == calls
    assert [r.confidence.tolist() for r in results] == expected
    assert expected[0] != expected[1]  # the images are told apart
    assert len(results[3]) == 0  # mean 60/255: every score below the threshold


def test_cuda_request_falls_back_to_cpu_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("ONNX Runtime has CUDA here: nothing falls back")
    directory = write_package(
        tmp_path / "package", [DETECTION_HEAD], architecture="yolov8", task="object-detection", class_names=["a", "b"]
    )
    with caplog.at_level(logging.WARNING):
        model = YoloV8ObjectDetection.from_pretrained(directory, LoadOptions(backend=BackendType.ONNX, device="cuda"))
    assert model.device == torch.device("cpu")
    assert any("CUDA was requested" in record.getMessage() for record in caplog.records)
    check(model(WHITE)[0], EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)


def test_fused_segmentation_carries_mask_coefficients(tmp_path: Path) -> None:
    rows = np.array([[0, 0, 40, 40, 0.9, 0, 1, 0], [40, 40, 60, 60, 0.8, 0, 0, 1]], dtype=np.float32)
    _, prototypes = segmentation_tables()
    config = inference_config(post_processing={"type": "nms", "fused": True})
    model = detector(tmp_path, [rows, prototypes], task="instance-segmentation", class_names=["blob"], config=config)
    (detections,) = model(WHITE)
    check(detections, [[0, 0, 40, 40]], [0], [0.9])  # the second mask is empty: dropped
    assert detections.mask.sum().item() == 32 * 32 - 1


def test_tensor_inputs_are_rgb_and_give_the_same_detections(tmp_path: Path) -> None:
    model = detector(tmp_path, [DETECTION_HEAD])
    white = torch.full((3, 64, 64), 255, dtype=torch.uint8)
    check(model(white)[0], EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)
    check(model(torch.ones(2, 3, 64, 64))[1], EXPECTED_BOXES, EXPECTED_CLASSES, EXPECTED_SCORES)
