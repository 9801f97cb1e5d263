"""Choosing the detections of one image from a detection head's candidates (shared by every YOLO-style family).

A family only decodes its layout into candidate boxes (``x1, y1, x2, y2`` in network pixels), scores and optional
extra per-box columns (mask coefficients, keypoints); :func:`select_detections` does the rest: best class per
candidate, strict confidence threshold, NMS (:func:`~inference_exp.processing.nms.nms`) and ``max_detections``,
returning the kept rows in score order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from inference_exp.errors import InvalidParameterError
from inference_exp.processing.nms import MAX_CANDIDATES, nms


@dataclass(frozen=True)
class Selection:
    """The kept detections of one image, best first (network coordinates).

    Attributes:
        boxes: ``(K, 4)`` ``x1, y1, x2, y2``.
        scores: ``(K,)``.
        class_ids: ``(K,)`` int64.
        extras: ``(K, E)`` the extra columns of the kept candidates, or ``None``.
        indices: ``(K,)`` int64 positions of the kept candidates in the input.
    """

    boxes: torch.Tensor
    scores: torch.Tensor
    class_ids: torch.Tensor
    extras: torch.Tensor | None
    indices: torch.Tensor

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def select_detections(
    boxes: torch.Tensor | np.ndarray,
    scores: torch.Tensor | np.ndarray,
    *,
    class_ids: torch.Tensor | np.ndarray | None = None,
    extras: torch.Tensor | np.ndarray | None = None,
    confidence_threshold: float,
    iou_threshold: float | None = None,
    max_detections: int | None = None,
    class_agnostic: bool = False,
    max_candidates: int | None = MAX_CANDIDATES,
) -> Selection:
    """Kept detections of one image.

    Args:
        boxes: ``(A, 4)`` candidate boxes ``x1, y1, x2, y2`` (network pixels).
        scores: ``(A, C)`` per-class scores (the best class is taken; first on ties), or ``(A,)`` scores with
            ``class_ids``.
        class_ids: ``(A,)`` class of each candidate when ``scores`` is 1-D.
        extras: ``(A, E)`` columns carried along (mask coefficients, keypoints).
        confidence_threshold: keep candidates whose score is ``> confidence_threshold``.
        iou_threshold: NMS IoU threshold; ``None`` skips NMS (end-to-end heads): candidates above the threshold
            are kept in their input order.
        max_detections: keep at most this many (``None``: all).
        class_agnostic: NMS across classes.
        max_candidates: NMS considers at most this many best-scored candidates.

    Numpy inputs are accepted and converted (without copying) to torch tensors.
    """
    boxes, scores = _tensor(boxes), _tensor(scores)
    extras = None if extras is None else _tensor(extras)
    if scores.dim() == 2:
        if class_ids is not None:
            raise InvalidParameterError("pass class_ids only with 1-D scores")
        scores, class_ids = scores.max(dim=1)
    elif class_ids is None:
        raise InvalidParameterError("1-D scores need class_ids")
    class_ids = _tensor(class_ids).to(torch.int64)
    if iou_threshold is None:
        keep = torch.nonzero(scores > confidence_threshold).flatten()
        if max_detections is not None:
            keep = keep[:max_detections]
    else:
        keep = nms(
            boxes,
            scores,
            class_ids,
            iou_threshold=iou_threshold,
            confidence_threshold=confidence_threshold,
            max_detections=max_detections,
            max_candidates=max_candidates,
            class_agnostic=class_agnostic,
        )
    return Selection(
        boxes=boxes[keep],
        scores=scores[keep],
        class_ids=class_ids[keep],
        extras=None if extras is None else extras[keep],
        indices=keep,
    )


def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``cx, cy, w, h`` → ``x1, y1, x2, y2`` over the last axis."""
    center, size = boxes[..., :2], boxes[..., 2:4]
    return torch.cat([center - size / 2, center + size / 2], dim=-1)


def _tensor(values: Any) -> torch.Tensor:
    return torch.from_numpy(np.asarray(values)) if isinstance(values, np.ndarray) else values
