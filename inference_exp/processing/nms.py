"""Non-maximum suppression without torchvision, for torch tensors and numpy arrays alike.

Semantics of ``torchvision.ops.batched_nms`` plus the usual YOLO candidate handling:

1. keep boxes whose score is ``> confidence_threshold`` (strict), if a threshold is given;
2. sort by score, descending; ties keep their input order (stable sort);
3. keep at most ``max_candidates`` (30000) of them;
4. greedily keep a box unless its IoU with an already kept box is ``> iou_threshold``; boxes of different
   classes never suppress each other (unless ``class_agnostic``);
5. return at most ``max_detections`` kept boxes, best first.

IoU is ``inter / (area_a + area_b - inter)``; degenerate pairs (zero union) never suppress. Class-aware NMS
gives exactly the per-class result in one of two ways: for up to a couple of thousand candidates (or kept boxes),
one greedy pass over boxes shifted apart by class (``class_id * span`` with ``span`` larger than every box extent, in float64 so
that no coordinate loses precision: boxes of different classes then never overlap); above that, one pass per
class, so that each box is only compared within its class. A greedy pass works in blocks of rows: IoU blocks are
computed on the boxes' device and the short sequential resolution inside a block runs on the CPU, so memory
stays bounded even for 30000 candidates. CPU tensors are processed as numpy views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from inference_exp.errors import InvalidParameterError

Array = TypeVar("Array")

MAX_CANDIDATES = 30000
_BLOCK = 128
# Class-aware NMS is one pass over class-shifted boxes when there are at most this many candidates or kept boxes
# (each candidate is compared with at most that many kept ones); otherwise one pass per class, so that each kept
# box is only compared within its class.
_SINGLE_PASS_LIMIT = 2048
_COLUMN_CHUNK = 2048


def nms(
    boxes: Array,
    scores: Array,
    class_ids: Array | None = None,
    *,
    iou_threshold: float,
    confidence_threshold: float | None = None,
    max_detections: int | None = None,
    max_candidates: int | None = MAX_CANDIDATES,
    class_agnostic: bool = False,
) -> Array:
    """Indices of the boxes kept by NMS, best score first.

    Args:
        boxes: ``(N, 4)`` ``x1, y1, x2, y2`` (torch tensor or numpy array).
        scores: ``(N,)``.
        class_ids: ``(N,)`` integer classes; ``None`` (or ``class_agnostic``) treats all boxes as one class.
        iou_threshold: a box is suppressed when its IoU with a kept box is greater than this (0..1).
        confidence_threshold: drop boxes whose score is not greater than this first.
        max_detections: keep at most this many.
        max_candidates: NMS considers at most this many best-scored boxes (``None``: all).
        class_agnostic: ignore ``class_ids``.

    Returns:
        int64 indices into the inputs, same library (and device) as ``boxes``.
    """
    if not 0.0 <= iou_threshold <= 1.0:
        raise InvalidParameterError(f"iou_threshold must be within 0..1, got {iou_threshold}")
    for name, value in (("max_detections", max_detections), ("max_candidates", max_candidates)):
        if value is not None and value < 0:
            raise InvalidParameterError(f"{name} must be >= 0, got {value}")
    if not isinstance(boxes, np.ndarray) and boxes.device.type == "cpu":  # type: ignore[attr-defined]
        # CPU tensors share memory with numpy arrays, and numpy's small-array operations are cheaper than torch's.
        import torch

        kept = nms(
            boxes.numpy(),  # type: ignore[attr-defined]
            scores.numpy(),  # type: ignore[attr-defined]
            None if class_ids is None else class_ids.numpy(),  # type: ignore[attr-defined]
            iou_threshold=iou_threshold,
            confidence_threshold=confidence_threshold,
            max_detections=max_detections,
            max_candidates=max_candidates,
            class_agnostic=class_agnostic,
        )
        return torch.from_numpy(kept)  # type: ignore[return-value]
    backend: _NumpyBackend | _TorchBackend = _NumpyBackend() if isinstance(boxes, np.ndarray) else _TorchBackend()
    order = backend.candidates(scores, confidence_threshold, max_candidates)
    sorted_boxes = boxes[order]  # type: ignore[index]
    groups = [np.arange(len(order))]
    if not class_agnostic and class_ids is not None and len(order) > 1:
        sorted_classes = class_ids[order]  # type: ignore[index]
        if len(order) <= _SINGLE_PASS_LIMIT or (max_detections is not None and max_detections <= _SINGLE_PASS_LIMIT):
            sorted_boxes = backend.separate_classes(sorted_boxes, sorted_classes)
        else:
            groups = _class_groups(backend.to_numpy(sorted_classes))
    kept: list[int] = []
    for positions in groups:
        group_boxes = sorted_boxes if len(groups) == 1 else sorted_boxes[backend.index(positions, boxes)]

        def overlaps(rows: slice, columns: Any, group_boxes: Any = group_boxes) -> np.ndarray:
            return backend.overlaps(group_boxes, rows, columns, iou_threshold)

        kept.extend(positions[_greedy(len(positions), overlaps, max_detections)].tolist())
    kept.sort()
    return order[backend.index(kept[:max_detections], boxes)]  # type: ignore[index]


def _class_groups(classes: np.ndarray) -> list[np.ndarray]:
    """Positions of each class, ascending (i.e. in score order)."""
    by_class = np.argsort(classes, kind="stable")
    boundaries = np.flatnonzero(np.diff(classes[by_class])) + 1
    return [group for group in np.split(by_class, boundaries) if len(group)]


def _greedy(count: int, overlaps: Callable[[slice, Any], np.ndarray], limit: int | None) -> list[int]:
    """Positions (in score order) that greedy NMS keeps; ``overlaps(rows, columns)`` says which pairs suppress."""
    kept: list[int] = []
    if limit == 0:
        return kept
    for start in range(0, count, _BLOCK):
        block = slice(start, min(start + _BLOCK, count))
        suppressed = np.zeros(block.stop - start, dtype=bool)
        for first in range(0, len(kept), _COLUMN_CHUNK):
            suppressed |= overlaps(block, kept[first : first + _COLUMN_CHUNK]).any(axis=1)
        within = np.triu(overlaps(block, block), k=1)
        for row in np.flatnonzero(~suppressed):
            if suppressed[row]:
                continue
            kept.append(start + int(row))
            if limit is not None and len(kept) >= limit:
                return kept
            suppressed |= within[row]
    return kept


def _suppression(boxes: Any, rows: slice, columns: Any, threshold: float, maximum: Any, minimum: Any) -> Any:
    """``IoU(boxes[rows], boxes[columns]) > threshold`` for numpy arrays or torch tensors."""
    a, b = boxes[rows], boxes[columns]
    top_left = maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = minimum(a[:, None, 2:], b[None, :, 2:])
    sides = (bottom_right - top_left).clip(min=0)
    inter = sides[..., 0] * sides[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area_a[:, None] + area_b[None, :] - inter) > threshold


class _NumpyBackend:
    def candidates(self, scores: np.ndarray, threshold: float | None, limit: int | None) -> np.ndarray:
        indices = np.arange(len(scores)) if threshold is None else np.flatnonzero(scores > threshold)
        order = indices[np.argsort(-scores[indices], kind="stable")]
        return order if limit is None else order[:limit]

    def index(self, positions: Any, like: np.ndarray) -> np.ndarray:
        return np.asarray(positions, dtype=np.int64)

    def to_numpy(self, values: np.ndarray) -> np.ndarray:
        return values

    def separate_classes(self, boxes: np.ndarray, classes: np.ndarray) -> np.ndarray:
        shifted = boxes.astype(np.float64)
        span = float(shifted.max() - shifted.min()) + 1.0
        return shifted + (classes.astype(np.float64) * span)[:, None]

    def overlaps(self, boxes: np.ndarray, rows: slice, columns: Any, threshold: float) -> np.ndarray:
        return _suppression(boxes, rows, columns, threshold, np.maximum, np.minimum)


class _TorchBackend:
    def __init__(self) -> None:
        import torch

        self.torch = torch

    def candidates(self, scores: Any, threshold: float | None, limit: int | None) -> Any:
        torch = self.torch
        if threshold is None:
            indices = torch.arange(scores.shape[0], device=scores.device)
        else:
            indices = torch.nonzero(scores > threshold).flatten()
        order = indices[torch.sort(scores[indices], descending=True, stable=True).indices]
        return order if limit is None else order[:limit]

    def index(self, positions: Any, like: Any) -> Any:
        return self.torch.as_tensor(positions, dtype=self.torch.int64, device=like.device)

    def to_numpy(self, values: Any) -> np.ndarray:
        return values.cpu().numpy()

    def separate_classes(self, boxes: Any, classes: Any) -> Any:
        shifted = boxes.to(self.torch.float64)
        span = float(shifted.max() - shifted.min()) + 1.0
        return shifted + (classes.to(self.torch.float64) * span)[:, None]

    def overlaps(self, boxes: Any, rows: slice, columns: Any, threshold: float) -> np.ndarray:
        if not isinstance(columns, slice):
            columns = self.index(columns, boxes)
        return self.to_numpy(_suppression(boxes, rows, columns, threshold, self.torch.maximum, self.torch.minimum))
