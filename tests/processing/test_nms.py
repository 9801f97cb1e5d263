"""NMS (torch and numpy) against a brute-force reference of the batched_nms semantics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_exp.errors import InvalidParameterError
from inference_exp.processing.nms import nms


def brute_force_nms(boxes, scores, classes, *, iou_threshold, confidence_threshold, max_detections, max_candidates,
                    agnostic):
    """Definition, one box at a time: stable sort, greedy keep, strict '>' for both thresholds."""

    def iou(a, others):  # float32, elementwise: the same formula as torchvision's box_iou
        lt = np.maximum(a[:2], others[:, :2])
        rb = np.minimum(a[2:], others[:, 2:])
        wh = np.clip(rb - lt, 0, None)
        inter = wh[:, 0] * wh[:, 1]
        area_a = (a[2] - a[0]) * (a[3] - a[1])
        area_b = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            return inter / (area_a + area_b - inter)

    candidates = [i for i in range(len(scores)) if confidence_threshold is None or scores[i] > confidence_threshold]
    candidates.sort(key=lambda i: -scores[i])  # Python's sort is stable: ties keep input order
    if max_candidates is not None:
        candidates = candidates[:max_candidates]
    kept: list[int] = []
    for i in candidates:
        same_class = np.ones(len(kept), bool) if agnostic else classes[kept] == classes[i]
        if np.any(same_class & (iou(boxes[i], boxes[kept]) > iou_threshold)):
            continue
        kept.append(i)
    return kept if max_detections is None else kept[:max_detections]


def random_case(rng: np.random.Generator, count: int):
    centers = rng.uniform(0, 100, (count, 2))
    sizes = rng.uniform(1, 40, (count, 2))
    boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1).astype(np.float32)
    if count and rng.random() < 0.5:  # exact duplicates and shared scores: ties
        duplicates = rng.integers(0, count, count // 4)
        boxes[duplicates] = boxes[rng.integers(0, count, len(duplicates))]
    levels = rng.choice([4, 10, 1000])
    scores = (rng.integers(0, levels, count) / levels).astype(np.float32)
    classes = rng.integers(0, rng.choice([1, 3, 8]), count)
    return boxes, scores, classes


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_matches_brute_force_on_random_cases(library):
    rng = np.random.default_rng(20260601 if library == "numpy" else 20260602)
    for case in range(600):
        boxes, scores, classes = random_case(rng, int(rng.integers(0, 60)))
        options = {
            "iou_threshold": float(rng.choice([0.0, 0.3, 0.45, 0.7, 1.0])),
            "confidence_threshold": None if case % 5 == 0 else float(rng.choice([0.0, 0.25, 0.5])),
            "max_detections": None if case % 3 == 0 else int(rng.integers(0, 20)),
            "max_candidates": None if case % 4 else int(rng.integers(1, 30)),
        }
        agnostic = bool(case % 2)
        expected = brute_force_nms(boxes, scores, classes, agnostic=agnostic, **options)
        if library == "torch":
            kept = nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes),
                       class_agnostic=agnostic, **options)
            assert kept.dtype == torch.int64
            kept = kept.tolist()
        else:
            kept = nms(boxes, scores, classes, class_agnostic=agnostic, **options).tolist()
        assert kept == expected, (case, options, agnostic)


@pytest.mark.parametrize("max_detections", [None, 1500])  # per-class passes / one class-shifted pass
def test_large_inputs_cross_block_boundaries(max_detections):
    """Thousands of candidates (several internal blocks) still give the reference answer."""
    rng = np.random.default_rng(5)
    boxes, scores, classes = random_case(rng, 2500)
    scores = rng.random(2500).astype(np.float32)
    for agnostic in (False, True):
        expected = brute_force_nms(boxes, scores, classes, iou_threshold=0.5, confidence_threshold=0.1,
                                   max_detections=max_detections, max_candidates=None, agnostic=agnostic)
        assert len(expected) > 600  # more kept boxes than one block holds
        for args in ((boxes, scores, classes), tuple(map(torch.from_numpy, (boxes, scores, classes)))):
            kept = nms(*args, iou_threshold=0.5, confidence_threshold=0.1, max_detections=max_detections,
                       class_agnostic=agnostic)
            assert kept.tolist() == expected


def test_semantics_by_hand():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.9, 0.25], np.float32)
    classes = np.array([0, 0, 1, 0])
    # box 1 overlaps box 0 (IoU 0.68) -> suppressed; box 2 is another class; box 3 fails the strict threshold
    assert nms(boxes, scores, classes, iou_threshold=0.5, confidence_threshold=0.25).tolist() == [0, 2]
    assert nms(boxes, scores, classes, iou_threshold=0.5, class_agnostic=True).tolist() == [0, 3]
    # IoU exactly equal to the threshold does not suppress
    assert nms(boxes[[0, 2]], scores[[0, 2]], None, iou_threshold=1.0).tolist() == [0, 1]
    assert nms(boxes, scores, classes, iou_threshold=0.5, max_detections=1).tolist() == [0]
    empty = nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), iou_threshold=0.5)
    assert empty.shape == (0,)
    for bad in (-0.1, 1.5):
        with pytest.raises(InvalidParameterError):
            nms(boxes, scores, iou_threshold=bad)


def test_candidate_cap_applies_before_nms():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert nms(boxes, scores, iou_threshold=0.5, max_candidates=2).tolist() == [0]
    assert nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 2]
