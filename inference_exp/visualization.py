"""Draw predictions onto images (OpenCV only): boxes with labels, masks, keypoints with skeletons, polygons,
and classification labels."""

from __future__ import annotations

import colorsys
from collections.abc import Iterable
from typing import Any

import numpy as np

from inference_exp.entities import ClassificationPrediction, Detections, InstanceDetections, KeyPoints
from inference_exp.entities._arrays import to_numpy

_MASK_ALPHA = 0.45


def class_color(class_id: int) -> tuple[int, int, int]:
    """A distinct, stable BGR colour per class id."""
    hue = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def annotate_image(image_bgr: np.ndarray, predictions: Iterable[Any]) -> np.ndarray:
    """A copy of ``image_bgr`` (HWC uint8) with ``predictions`` of that image drawn on it.

    Masks are drawn first, then polygons/boxes with labels, then keypoints, then classification labels.
    Entities of other types are ignored.
    """
    canvas = np.ascontiguousarray(image_bgr.copy())
    predictions = list(predictions)
    for prediction in predictions:
        if isinstance(prediction, InstanceDetections):
            _draw_masks(canvas, prediction)
    for prediction in predictions:
        if isinstance(prediction, Detections):
            _draw_boxes(canvas, prediction)
        elif isinstance(prediction, KeyPoints):
            _draw_keypoints(canvas, prediction)
    labels = [p for p in predictions if isinstance(p, ClassificationPrediction)]
    for row, prediction in enumerate(labels):
        for name, confidence in zip(prediction.class_name, to_numpy(prediction.confidence), strict=True):
            _label(canvas, f"{name} {confidence:.2f}", (8, 24 + 24 * row), (40, 40, 40))
    return canvas


def _draw_masks(canvas: np.ndarray, detections: InstanceDetections) -> None:
    masks = to_numpy(detections.mask).astype(bool)
    for mask, class_id in zip(masks, to_numpy(detections.class_id), strict=True):
        color = np.array(class_color(int(class_id)), dtype=np.float32)
        region = canvas[mask].astype(np.float32)
        canvas[mask] = (region * (1 - _MASK_ALPHA) + color * _MASK_ALPHA).astype(np.uint8)


def _draw_boxes(canvas: np.ndarray, detections: Detections) -> None:
    import cv2

    polygons = getattr(detections, "polygons", None)
    polygons = to_numpy(polygons) if polygons is not None else None
    texts = getattr(detections, "texts", None)
    arrays = detections.to_numpy()
    for index in range(len(detections)):
        class_id = int(arrays["class_id"][index])
        color = class_color(class_id)
        x1, y1, x2, y2 = (int(np.rint(v)) for v in arrays["xyxy"][index])
        if polygons is not None:
            cv2.polylines(canvas, [np.round(polygons[index]).astype(np.int32)], True, color, 2, cv2.LINE_AA)
        else:
            cv2.rectangle(canvas, (x1, y1), (x2, y2), color, 2, cv2.LINE_AA)
        text = texts[index] if texts is not None else str(arrays["class_name"][index])
        _label(canvas, f"{text} {arrays['confidence'][index]:.2f}", (x1, max(y1 - 4, 14)), color)


def _draw_keypoints(canvas: np.ndarray, keypoints: KeyPoints) -> None:
    import cv2

    arrays = keypoints.to_numpy()
    for xy, confidence, class_id in zip(arrays["xy"], arrays["confidence"], arrays["class_id"], strict=True):
        color = class_color(int(class_id))
        visible = confidence > 0
        skeletons = keypoints.skeletons or ()
        edges = skeletons[int(class_id)] if int(class_id) < len(skeletons) else ()
        for start, end in edges:
            if start < len(xy) and end < len(xy) and visible[start] and visible[end]:
                a, b = tuple(np.round(xy[start]).astype(int)), tuple(np.round(xy[end]).astype(int))
                cv2.line(canvas, a, b, color, 2, cv2.LINE_AA)
        for point, seen in zip(xy, visible, strict=True):
            if seen:
                cv2.circle(canvas, tuple(np.round(point).astype(int)), 3, (255, 255, 255), -1, cv2.LINE_AA)


def _label(canvas: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int]) -> None:
    import cv2

    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    (width, height), baseline = cv2.getTextSize(text, font, scale, thickness)
    x, y = origin
    cv2.rectangle(canvas, (x, y - height - baseline), (x + width, y + baseline // 2), color, -1)
    cv2.putText(canvas, text, (x, y - baseline // 2), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
