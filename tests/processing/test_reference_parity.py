"""The processing layer end to end on the shared fixtures: our pre-processing → the real ONNX export
(onnxruntime) → a minimal decode of the layout → our selection / NMS / mapping / masks / keypoints, compared
with the reference predictions. This pins the exact pipeline, so the MANIFEST's tight tolerances apply."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference_exp.packages.inference_config import parse_inference_config
from inference_exp.processing import (
    build_preprocessor,
    instance_masks,
    keypoints_to_original,
    run_in_chunks,
    select_detections,
    xywh_to_xyxy,
)

ort = pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.parity

IMAGES = ("bus.jpg", "zidane.jpg")
CONFIG = parse_inference_config({
    "network_input": {
        "training_input_size": {"height": 640, "width": 640},
        "dynamic_spatial_size_supported": False,
        "color_mode": "rgb",
        "resize_mode": "letterbox",
        "padding_value": 114,
        "input_channels": 3,
        "scaling_factor": 255,
    },
    "post_processing": {"type": "nms", "fused": False},
})
NMS = {"confidence_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100}


def run_model(fixtures_dir: Path, model: str, *, max_batch_size: int | None = None):
    """Both images through our pre-processing and the model; returns (outputs, transforms, references)."""
    session = ort.InferenceSession(str(fixtures_dir / model / "weights.onnx"), providers=["CPUExecutionProvider"])
    images = [cv2.imread(str(fixtures_dir / "images" / name)) for name in IMAGES]
    batch, transforms = build_preprocessor(CONFIG)(images)

    def backend(chunk: torch.Tensor) -> list[torch.Tensor]:
        return [torch.from_numpy(o) for o in session.run(None, {"images": chunk.numpy()})]

    outputs = run_in_chunks(backend, batch, max_batch_size=max_batch_size)
    references = [json.loads((fixtures_dir / "references" / model / f"{n}.json").read_text()) for n in IMAGES]
    return outputs, transforms, references


def check_detections(selection, transform, reference, *, box_tolerance: float = 1e-3):
    detections = reference["detections"]
    assert len(selection) == len(detections) == reference["n_detections"]
    assert selection.class_ids.tolist() == [d["class_id"] for d in detections]
    expected_boxes = torch.tensor([d["xyxy"] for d in detections])
    assert (transform.boxes_to_original(selection.boxes) - expected_boxes).abs().max() <= box_tolerance
    expected_scores = torch.tensor([d["confidence"] for d in detections])
    assert (selection.scores - expected_scores).abs().max() <= 1e-4


@pytest.mark.parametrize("model", ["random-yolov8n", "random-yolo11n"])
def test_ultralytics_detection(fixtures_dir: Path, model: str):
    (output,), transforms, references = run_model(fixtures_dir, model, max_batch_size=1)
    for rows, transform, reference in zip(output, transforms, references, strict=True):
        rows = rows.T  # (8400, 4 + 80)
        selection = select_detections(xywh_to_xyxy(rows[:, :4]), rows[:, 4:], **NMS)
        check_detections(selection, transform, reference)


def test_yolov5_objectness_layout(fixtures_dir: Path):
    (output,), transforms, references = run_model(fixtures_dir, "yolov5n")
    for rows, transform, reference in zip(output, transforms, references, strict=True):
        scores = rows[:, 5:] * rows[:, 4:5]  # objectness x class score
        selection = select_detections(xywh_to_xyxy(rows[:, :4]), scores, **NMS)
        check_detections(selection, transform, reference)
        # YOLOv5's fractional-padding unscale rule agrees here because both images scale to whole pixels
        assert reference["preprocess"]["unscale_pad_xy"] == [transform.pad_left, transform.pad_top]


def test_yolov10_end_to_end_head(fixtures_dir: Path):
    (output,), transforms, references = run_model(fixtures_dir, "random-yolov10n")
    for rows, transform, reference in zip(output, transforms, references, strict=True):
        selection = select_detections(rows[:, :4], rows[:, 4], class_ids=rows[:, 5], confidence_threshold=0.25,
                                      iou_threshold=None, max_detections=100)
        check_detections(selection, transform, reference)


@pytest.mark.parametrize("model", ["random-yolov8n-seg", "random-yolo11n-seg"])
def test_ultralytics_segmentation_masks_both_paths(fixtures_dir: Path, model: str):
    (output, prototypes), transforms, references = run_model(fixtures_dir, model)
    for index, (rows, transform, reference) in enumerate(zip(output, transforms, references, strict=True)):
        rows = rows.T  # (8400, 4 + 80 + 32)
        selection = select_detections(xywh_to_xyxy(rows[:, :4]), rows[:, 4:84], extras=rows[:, 84:], **NMS)
        check_detections(selection, transform, reference)
        stored = np.load(fixtures_dir / "references" / model / f"{IMAGES[index]}_masks.npz")
        native = instance_masks(prototypes[index], selection.extras, selection.boxes, transform)
        for ours, expected in zip(native, torch.from_numpy(stored["masks"]), strict=True):
            assert (ours & expected).sum() / (ours | expected).sum() >= 0.99
        upsampled = instance_masks(prototypes[index], selection.extras, selection.boxes, transform, method="upsample")
        for expected, detection in zip(torch.from_numpy(stored["masks_default"]), stored["default_to_detection_index"],
                                       strict=True):
            if detection >= 0:
                ours = upsampled[int(detection)]
                assert (ours & expected).sum() / (ours | expected).sum() >= 0.99


def test_ultralytics_pose_keypoints(fixtures_dir: Path):
    (output,), transforms, references = run_model(fixtures_dir, "random-yolov8n-pose")
    for rows, transform, reference in zip(output, transforms, references, strict=True):
        rows = rows.T  # (8400, 4 + 1 + 17 * 3)
        selection = select_detections(xywh_to_xyxy(rows[:, :4]), rows[:, 4:5], extras=rows[:, 5:], **NMS)
        check_detections(selection, transform, reference)
        xy, confidence = keypoints_to_original(selection.extras.reshape(-1, 17, 3), transform)
        detections = reference["detections"]
        assert (xy - torch.tensor([d["keypoints_xy"] for d in detections])).abs().max() <= 1e-3
        assert (confidence - torch.tensor([d["keypoints_conf"] for d in detections])).abs().max() <= 1e-4
