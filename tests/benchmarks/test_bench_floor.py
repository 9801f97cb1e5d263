"""The benchmark's floor (``benchmarks/floor.py``) reproduces the reference predictions it is timed against."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from floor import FloorYolo, letterbox, nms


def test_letterbox_pads_to_a_square_with_the_ultralytics_split() -> None:
    image = np.zeros((720, 1280, 3), dtype=np.uint8)
    boxed, record = letterbox(image)
    assert boxed.shape == (640, 640, 3)
    assert (record.left, record.top) == (0, 140)
    assert record.gain_x == pytest.approx(0.5) and record.gain_y == pytest.approx(0.5)
    assert (boxed[:140] == 114).all() and (boxed[500:] == 114).all() and (boxed[140:500] == 0).all()


def test_nms_suppresses_overlaps_within_a_class_only() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    classes = np.array([0, 0, 1, 0])
    assert nms(boxes, scores, classes).tolist() == [0, 2, 3]


@pytest.mark.parametrize("model, segmentation", [("random-yolov8n", False), ("random-yolov8n-seg", True)])
@pytest.mark.parametrize("image", ["bus.jpg", "zidane.jpg"])
def test_floor_matches_the_references(fixtures_dir: Path, model: str, segmentation: bool, image: str) -> None:
    floor = FloorYolo(fixtures_dir / model / "weights.onnx", segmentation=segmentation, threads=1)
    prediction = floor([cv2.imread(str(fixtures_dir / "images" / image))])[0]
    reference = json.loads((fixtures_dir / "references" / model / f"{image}.json").read_text())["detections"]
    assert prediction.classes.tolist() == [d["class_id"] for d in reference]
    assert np.abs(prediction.boxes - np.array([d["xyxy"] for d in reference])).max() < 0.05
    assert np.abs(prediction.scores - np.array([d["confidence"] for d in reference])).max() < 1e-4
    if segmentation:
        masks = np.load(fixtures_dir / "references" / model / f"{image}_masks.npz")["masks"]
        assert prediction.masks is not None and prediction.masks.shape == masks.shape
        inter = (prediction.masks & masks).reshape(len(masks), -1).sum(axis=1)
        union = (prediction.masks | masks).reshape(len(masks), -1).sum(axis=1)
        assert (inter / union).min() >= 0.98
