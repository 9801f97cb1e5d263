"""The YOLO layout decoders on hand-made outputs: thresholds, NMS, order, extras, layout detection."""

from __future__ import annotations

import pytest
import torch

from inference_exp.errors import ModelRuntimeError
from inference_exp.models.yolo.decoding import (
    decode_anchor_free,
    decode_end_to_end,
    decode_objectness,
    is_objectness_layout,
)

NMS = {"confidence": 0.25, "iou_threshold": 0.45, "max_detections": 100, "class_agnostic_nms": False}

# Anchor-free rows (cx, cy, w, h, score class 0, score class 1, extra), one column per anchor.
ANCHORS = torch.tensor(
    [
        [10.0, 10.0, 8.0, 8.0, 0.9, 0.1, 1.0],  # best
        [11.0, 10.0, 8.0, 8.0, 0.8, 0.2, 2.0],  # IoU 0.78 with anchor 0, same class: suppressed
        [11.0, 10.0, 8.0, 8.0, 0.1, 0.7, 3.0],  # overlaps anchor 0 but class 1: kept unless class-agnostic
        [40.0, 40.0, 10.0, 20.0, 0.25, 0.1, 4.0],  # exactly at the threshold: dropped (strict)
    ]
).T[None]  # (1, 7, 4)


def test_anchor_free_best_class_strict_threshold_class_aware_nms() -> None:
    (kept,) = decode_anchor_free(ANCHORS, 2, 1, **NMS)
    assert kept.class_ids.tolist() == [0, 1]
    assert kept.scores.tolist() == pytest.approx([0.9, 0.7])
    assert kept.boxes.tolist() == [[6.0, 6.0, 14.0, 14.0], [7.0, 6.0, 15.0, 14.0]]
    assert kept.extras.tolist() == [[1.0], [3.0]]


def test_anchor_free_options() -> None:
    (agnostic,) = decode_anchor_free(ANCHORS, 2, 1, **{**NMS, "class_agnostic_nms": True})
    assert agnostic.extras.flatten().tolist() == [1.0]
    (low,) = decode_anchor_free(ANCHORS, 2, 1, **{**NMS, "confidence": 0.2})
    assert low.extras.flatten().tolist() == [1.0, 3.0, 4.0]
    (loose,) = decode_anchor_free(ANCHORS, 2, 1, **{**NMS, "iou_threshold": 0.9})
    assert loose.extras.flatten().tolist() == [1.0, 2.0, 3.0]
    (first,) = decode_anchor_free(ANCHORS, 2, 1, **{**NMS, "max_detections": 1})
    assert first.extras.flatten().tolist() == [1.0]


def test_anchor_free_without_extras_and_without_candidates() -> None:
    (kept,) = decode_anchor_free(ANCHORS[:, :6], 2, 0, **NMS)
    assert kept.extras is None and len(kept) == 2
    (none,) = decode_anchor_free(ANCHORS[:, :6], 2, 0, **{**NMS, "confidence": 0.95})
    assert len(none) == 0 and none.boxes.shape == (0, 4)


def test_anchor_free_batch_is_decoded_per_image() -> None:
    batch = torch.cat([ANCHORS, ANCHORS * torch.tensor([1, 1, 1, 1, 0, 0, 1.0])[:, None]])
    first, second = decode_anchor_free(batch, 2, 1, **NMS)
    assert len(first) == 2 and len(second) == 0


def test_anchor_free_shape_must_match_the_classes() -> None:
    with pytest.raises(ModelRuntimeError, match="anchor-free"):
        decode_anchor_free(ANCHORS, 3, 1, **NMS)


def test_objectness_scores_are_objectness_times_class_score() -> None:
    rows = torch.tensor(
        [
            [10.0, 10.0, 4.0, 4.0, 0.5, 0.6, 0.9],  # 0.45 for class 1
            [30.0, 30.0, 4.0, 4.0, 0.2, 1.0, 0.0],  # objectness below the threshold
            [50.0, 50.0, 4.0, 4.0, 0.9, 0.3, 0.1],  # 0.27 for class 0
            [20.0, 50.0, 4.0, 4.0, 0.5, 0.5, 0.0],  # 0.25: not above the threshold
        ]
    )[None]
    (kept,) = decode_objectness(rows, 2, 0, **NMS)
    assert kept.class_ids.tolist() == [1, 0]
    assert kept.scores.tolist() == pytest.approx([0.45, 0.27])
    assert kept.boxes.tolist() == [[8.0, 8.0, 12.0, 12.0], [48.0, 48.0, 52.0, 52.0]]


def test_end_to_end_keeps_output_order_without_nms() -> None:
    rows = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0, 0.3, 1.0, 7.0],
            [0.0, 0.0, 10.0, 10.0, 0.9, 1.0, 8.0],  # same box and class: no NMS, both stay
            [5.0, 5.0, 10.0, 10.0, 0.25, 0.0, 9.0],  # exactly at the threshold
            [5.0, 5.0, 10.0, 10.0, 0.1, 0.0, 10.0],
        ]
    )[None]
    (fused,) = decode_end_to_end(rows, 1, confidence=0.25, max_detections=100, inclusive=True)
    assert fused.extras.flatten().tolist() == [7.0, 8.0, 9.0]
    assert fused.class_ids.tolist() == [1, 1, 0] and fused.class_ids.dtype == torch.int64
    assert fused.boxes[0].tolist() == [0.0, 0.0, 10.0, 10.0]
    (strict,) = decode_end_to_end(rows, 1, confidence=0.25, max_detections=100, inclusive=False)
    assert strict.extras.flatten().tolist() == [7.0, 8.0]
    (capped,) = decode_end_to_end(rows, 1, confidence=0.0, max_detections=2, inclusive=False)
    assert capped.extras.flatten().tolist() == [7.0, 8.0]


def test_yolov5_layouts_are_told_apart_by_the_class_count() -> None:
    assert is_objectness_layout(torch.zeros(1, 25200, 85), 80, 0)
    assert not is_objectness_layout(torch.zeros(1, 84, 8400), 80, 0)
    with pytest.raises(ModelRuntimeError, match="fits neither"):
        is_objectness_layout(torch.zeros(1, 84, 8400), 3, 0)
