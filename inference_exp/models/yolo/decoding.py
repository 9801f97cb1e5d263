"""Decoding of the YOLO output layouts into per-image detections (network pixels), torch on any device.

| layout | output | decoder |
|---|---|---|
| anchor-free (YOLOv8/9/11/12, YOLOv5u) | ``(B, 4 + C + E, A)``: ``cx, cy, w, h``, C class scores, E extra columns | :func:`decode_anchor_free` |
| objectness (YOLOv5) | ``(B, A, 5 + C + E)``: ``cx, cy, w, h, objectness``, C class scores, E extras | :func:`decode_objectness` |
| end-to-end (fused NMS, YOLOv10) | ``(B, N, 6 + E)``: ``x1, y1, x2, y2, score, class``, E extras | :func:`decode_end_to_end` |

Extra columns are mask coefficients (segmentation) or keypoint triplets (pose); they are returned in
``Selection.extras`` (``None`` when ``E == 0``). The candidate filter and NMS follow the references exactly
(``fixtures/MANIFEST.md``): best class per anchor, score ``> confidence``, class-aware NMS suppressing IoU
``> iou_threshold``, at most ``max_detections``; end-to-end heads keep rows in output order without NMS.

"""

from __future__ import annotations

import numpy as np
import torch

from inference_exp.errors import ModelRuntimeError
from inference_exp.processing import Selection, select_detections, xywh_to_xyxy


def _check(output: torch.Tensor, axis: int, expected: int, layout: str) -> None:
    if output.dim() != 3 or output.shape[axis] != expected:
        raise ModelRuntimeError(
            f"The network output has shape {tuple(output.shape)}; the {layout} layout of this package needs "
            f"{expected} values on axis {axis}.",
            hint="Check that class_names.txt (and keypoints_metadata.json) belong to these weights.",
        )


# On the CPU, column reductions go through numpy (views, no copies): torch's reductions start its thread pool,
# which right after an ONNX Runtime call competes with ONNX Runtime's still-spinning threads for the cores and
# costs milliseconds (80 x 8400 maximum: ~4 ms in torch, ~0.1 ms in numpy; a 60 x 80 arg-max: ~3 ms vs ~0.1 ms).


def _column_max(scores: torch.Tensor) -> torch.Tensor:
    """Maximum of each column of a ``(C, A)`` tensor."""
    if scores.device.type == "cpu":
        return torch.from_numpy(scores.numpy().max(axis=0))
    return scores.amax(dim=0)


def _best_class(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per column of a ``(C, n)`` tensor: the best score and its row (the first one on ties)."""
    if scores.device.type == "cpu":
        array = scores.numpy()
        classes = array.argmax(axis=0)
        return torch.from_numpy(np.take_along_axis(array, classes[None], axis=0)[0]), torch.from_numpy(classes)
    best, classes = scores.max(dim=0)
    return best, classes


def _extras(rows: torch.Tensor, start: int) -> torch.Tensor | None:
    return rows[:, start:] if rows.shape[1] > start else None


def decode_anchor_free(
    output: torch.Tensor,
    num_classes: int,
    num_extras: int,
    *,
    confidence: float,
    iou_threshold: float,
    max_detections: int,
    class_agnostic_nms: bool,
) -> list[Selection]:
    """``(B, 4 + C + E, A)`` → per image the NMS-kept detections (scores are the class scores, no objectness)."""
    _check(output, 1, 4 + num_classes + num_extras, "anchor-free")
    selections = []
    for columns in output:  # (4 + C + E, A)
        candidates = torch.nonzero(_column_max(columns[4 : 4 + num_classes]) > confidence).flatten()
        picked = columns.index_select(1, candidates)  # (4 + C + E, n)
        best, classes = _best_class(picked[4 : 4 + num_classes])
        rows = picked.T
        selections.append(
            select_detections(
                xywh_to_xyxy(rows[:, :4]),
                best,
                class_ids=classes,
                extras=_extras(rows, 4 + num_classes),
                confidence_threshold=confidence,
                iou_threshold=iou_threshold,
                max_detections=max_detections,
                class_agnostic=class_agnostic_nms,
            )
        )
    return selections


def decode_objectness(
    output: torch.Tensor,
    num_classes: int,
    num_extras: int,
    *,
    confidence: float,
    iou_threshold: float,
    max_detections: int,
    class_agnostic_nms: bool,
) -> list[Selection]:
    """``(B, A, 5 + C + E)`` → per image the NMS-kept detections, YOLOv5's ``detect.py`` rule: candidates with
    ``objectness > confidence``, score = ``objectness * class score`` (best class), kept when ``> confidence``."""
    _check(output, 2, 5 + num_classes + num_extras, "objectness (YOLOv5)")
    selections = []
    for rows in output:  # (A, 5 + C + E)
        rows = rows[torch.nonzero(rows[:, 4] > confidence).flatten()]
        best, classes = _best_class((rows[:, 5 : 5 + num_classes] * rows[:, 4:5]).T)
        selections.append(
            select_detections(
                xywh_to_xyxy(rows[:, :4]),
                best,
                class_ids=classes,
                extras=_extras(rows, 5 + num_classes),
                confidence_threshold=confidence,
                iou_threshold=iou_threshold,
                max_detections=max_detections,
                class_agnostic=class_agnostic_nms,
            )
        )
    return selections


def decode_end_to_end(
    output: torch.Tensor,
    num_extras: int,
    *,
    confidence: float,
    max_detections: int,
    inclusive: bool,
) -> list[Selection]:
    """``(B, N, 6 + E)`` rows ``x1, y1, x2, y2, score, class, extras…`` → per image the rows whose score passes,
    in output order, at most ``max_detections``.

    Args:
        inclusive: keep ``score >= confidence`` (NMS fused into the graph) instead of ``score > confidence``
            (YOLOv10's NMS-free head, as its reference does).
    """
    _check(output, 2, 6 + num_extras, "end-to-end")
    selections = []
    for rows in output:  # (N, 6 + E)
        scores = rows[:, 4]
        passed = scores >= confidence if inclusive else scores > confidence
        keep = torch.nonzero(passed).flatten()[:max_detections]
        kept = rows[keep]
        selections.append(
            Selection(
                boxes=kept[:, :4],
                scores=kept[:, 4],
                class_ids=kept[:, 5].round().to(torch.int64),
                extras=_extras(kept, 6),
                indices=keep,
            )
        )
    return selections


def is_objectness_layout(output: torch.Tensor, num_classes: int, num_extras: int) -> bool:
    """Whether a YOLOv5 output is the anchor-based objectness layout ``(B, A, 5 + C + E)`` rather than the
    anchor-free ``(B, 4 + C + E, A)`` of the "u" exports (decided by which axis matches the class count)."""
    if output.dim() == 3 and output.shape[2] == 5 + num_classes + num_extras:
        return True
    if output.dim() == 3 and output.shape[1] == 4 + num_classes + num_extras:
        return False
    raise ModelRuntimeError(
        f"The YOLOv5 output has shape {tuple(output.shape)}, which fits neither (batch, anchors, "
        f"{5 + num_classes + num_extras}) nor (batch, {4 + num_classes + num_extras}, anchors) for "
        f"{num_classes} classes.",
        hint="Check that class_names.txt belongs to these weights.",
    )
