"""The YOLO-style selection helper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_exp.errors import InvalidParameterError
from inference_exp.processing import select_detections, xywh_to_xyxy
from inference_exp.processing.nms import nms


def test_best_class_threshold_nms_and_extras_travel_together():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10], [70, 70, 80, 80]],
                         dtype=torch.float32)
    scores = torch.tensor([
        [0.1, 0.9],   # class 1, kept
        [0.8, 0.85],  # class 1, overlaps row 0 -> suppressed
        [0.3, 0.2],   # class 0, kept
        [0.7, 0.1],   # class 0, same box as row 0 but another class -> kept
        [0.25, 0.2],  # best score 0.25 is not > 0.25 -> dropped
    ])
    extras = torch.arange(10, dtype=torch.float32).reshape(5, 2)
    kept = select_detections(boxes, scores, extras=extras, confidence_threshold=0.25, iou_threshold=0.5)
    assert kept.indices.tolist() == [0, 3, 2]
    assert kept.class_ids.tolist() == [1, 0, 0] and kept.class_ids.dtype == torch.int64
    assert torch.allclose(kept.scores, torch.tensor([0.9, 0.7, 0.3]))
    assert torch.equal(kept.boxes, boxes[[0, 3, 2]]) and torch.equal(kept.extras, extras[[0, 3, 2]])
    assert len(kept) == 3
    agnostic = select_detections(boxes, scores, confidence_threshold=0.25, iou_threshold=0.5, class_agnostic=True)
    assert agnostic.indices.tolist() == [0, 2] and agnostic.extras is None
    capped = select_detections(boxes, scores, confidence_threshold=0.25, iou_threshold=0.5, max_detections=2)
    assert capped.indices.tolist() == [0, 3]


def test_equivalent_to_nms_on_random_heads_numpy_inputs_too():
    rng = np.random.default_rng(3)
    centers, sizes = rng.uniform(0, 640, (3000, 2)), rng.uniform(4, 120, (3000, 2))
    boxes = np.concatenate([centers, sizes], axis=1).astype(np.float32)
    scores = rng.random((3000, 20)).astype(np.float32) ** 4
    kept = select_detections(xywh_to_xyxy(torch.from_numpy(boxes)).numpy(), scores, confidence_threshold=0.3,
                             iou_threshold=0.45, max_detections=300)
    xyxy = np.concatenate([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], axis=1)
    expected = nms(xyxy, scores.max(axis=1), scores.argmax(axis=1), iou_threshold=0.45, confidence_threshold=0.3,
                   max_detections=300)
    assert kept.indices.tolist() == expected.tolist()
    assert torch.all(kept.scores[:-1] >= kept.scores[1:])


def test_end_to_end_heads_keep_input_order_without_nms():
    boxes = torch.tensor([[0, 0, 10, 10]] * 4, dtype=torch.float32)
    scores = torch.tensor([0.3, 0.9, 0.1, 0.5])
    kept = select_detections(boxes, scores, class_ids=torch.tensor([1.0, 2.0, 3.0, 1.0]), confidence_threshold=0.25,
                             iou_threshold=None, max_detections=2)
    assert kept.indices.tolist() == [0, 1] and kept.class_ids.tolist() == [1, 2]


def test_argument_errors():
    boxes = torch.zeros((2, 4))
    with pytest.raises(InvalidParameterError, match="class_ids"):
        select_detections(boxes, torch.zeros(2), confidence_threshold=0.1, iou_threshold=0.5)
    with pytest.raises(InvalidParameterError, match="class_ids"):
        select_detections(boxes, torch.zeros((2, 3)), class_ids=torch.zeros(2), confidence_threshold=0.1)


def test_xywh_to_xyxy():
    assert xywh_to_xyxy(torch.tensor([[10.0, 20.0, 4.0, 6.0]])).tolist() == [[8.0, 17.0, 12.0, 23.0]]
