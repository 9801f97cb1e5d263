"""Differentiable-Binarization (DB) post-processing: a text probability map → scored text quadrilaterals.

For one ``(H, W)`` map, in network pixels:

1. binarise: ``probability > threshold``; optionally dilate with a 2x2 kernel of ones (each pixel grows one
   pixel right and down, which joins characters split by a one-pixel gap);
2. trace the outer and inner contours of the binary map (OpenCV, simple chain approximation); at most
   ``max_candidates`` contours are considered, in OpenCV's order;
3. per contour, its minimum-area rectangle; rectangles with a short side below :data:`MIN_SIZE` are dropped;
4. score = mean probability over the rectangle's pixels ("fast" score: the rectangle, vertices truncated to
   whole pixels, is filled inside its bounding window); rectangles scoring below ``box_threshold`` are dropped;
5. unclip: the rectangle is offset outwards by ``area * unclip_ratio / perimeter`` with round joins
   (``pyclipper``, which works on integer coordinates: vertices are truncated), then the minimum-area rectangle
   of the grown outline is taken; one with a short side below ``MIN_SIZE + 2`` is dropped;
6. the vertices are ordered clockwise from the top-left one.

The defaults are PaddleOCR's PP-OCRv4 detection settings (``thresh 0.3``, ``box_thresh 0.5``,
``unclip_ratio 1.6``, ``max_candidates 1000``, dilation on, ``score_mode fast``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference_exp.models.ppocr.geometry import order_clockwise
from inference_exp.utils.imports import require

#: Rectangles whose short side (network pixels) is below this are noise, before unclipping (``+ 2`` after).
MIN_SIZE = 3.0
_DILATION_KERNEL = np.ones((2, 2), dtype=np.uint8)


@dataclass(frozen=True)
class DBParameters:
    """The knobs of :func:`text_regions` (defaults: the PP-OCRv4 reference).

    Attributes:
        threshold: probability above which a pixel is text.
        box_threshold: minimum mean probability inside a region's rectangle.
        unclip_ratio: how far a region grows: ``area * unclip_ratio / perimeter`` pixels outwards.
        max_candidates: at most this many contours are examined.
        use_dilation: dilate the binary map with a 2x2 kernel before tracing contours.
    """

    threshold: float = 0.3
    box_threshold: float = 0.5
    unclip_ratio: float = 1.6
    max_candidates: int = 1000
    use_dilation: bool = True


def text_regions(probability: np.ndarray, parameters: DBParameters = DBParameters()) -> tuple[np.ndarray, np.ndarray]:
    """The text quadrilaterals of one probability map (see the module docstring).

    Args:
        probability: ``(H, W)`` float map of text probabilities.
        parameters: thresholds and unclip ratio.

    Returns:
        ``(quadrilaterals, scores)``: ``(N, 4, 2)`` float32 vertices in map pixels, clockwise from top-left, and
        ``(N,)`` float32 mean probabilities.
    """
    probability = np.ascontiguousarray(probability, dtype=np.float32)
    binary = (probability > parameters.threshold).astype(np.uint8)
    if parameters.use_dilation:
        binary = cv2.dilate(binary, _DILATION_KERNEL)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    quadrilaterals: list[np.ndarray] = []
    scores: list[float] = []
    for contour in contours[: parameters.max_candidates]:
        rectangle, short_side = minimum_area_rectangle(contour.reshape(-1, 2))
        if short_side < MIN_SIZE:
            continue
        score = mean_probability_inside(probability, rectangle)
        if score < parameters.box_threshold:
            continue
        grown = unclip(rectangle, parameters.unclip_ratio)
        if len(grown) < 3:
            continue
        rectangle, short_side = minimum_area_rectangle(grown)
        if short_side < MIN_SIZE + 2:
            continue
        quadrilaterals.append(order_clockwise(rectangle))
        scores.append(score)
    if not quadrilaterals:
        return np.zeros((0, 4, 2), dtype=np.float32), np.zeros(0, dtype=np.float32)
    return np.stack(quadrilaterals).astype(np.float32), np.asarray(scores, dtype=np.float32)


def minimum_area_rectangle(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-area rectangle around ``(K, 2)`` points: its ``(4, 2)`` float32 corners and its short side."""
    rectangle = cv2.minAreaRect(np.asarray(points, dtype=np.float32).reshape(-1, 1, 2))
    return cv2.boxPoints(rectangle).astype(np.float32), float(min(rectangle[1]))


def mean_probability_inside(probability: np.ndarray, quadrilateral: np.ndarray) -> float:
    """Mean of ``probability`` over the pixels of ``quadrilateral`` (vertices truncated to whole pixels)."""
    height, width = probability.shape
    x0, y0 = np.floor(quadrilateral.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quadrilateral.max(axis=0)).astype(int)
    x0, x1 = int(np.clip(x0, 0, width - 1)), int(np.clip(x1, 0, width - 1))
    y0, y1 = int(np.clip(y0, 0, height - 1)), int(np.clip(y1, 0, height - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (quadrilateral - np.array([x0, y0], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(probability[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def unclip(quadrilateral: np.ndarray, ratio: float) -> np.ndarray:
    """The outline of ``quadrilateral`` grown by ``area * ratio / perimeter`` (round joins), as ``(K, 2)`` points.

    Returns an empty ``(0, 2)`` array when the polygon is degenerate.
    """
    pyclipper = require("pyclipper", needed_for="PP-OCR text detection (unclipping text regions)", extra="ocr")
    polygon = np.asarray(quadrilateral, dtype=np.float32).reshape(-1, 1, 2)
    perimeter = cv2.arcLength(polygon, True)
    if perimeter <= 0:
        return np.zeros((0, 2), dtype=np.float32)
    distance = abs(cv2.contourArea(polygon)) * ratio / perimeter
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(polygon.reshape(-1, 2).astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    outlines = offset.Execute(distance)
    if not outlines:
        return np.zeros((0, 2), dtype=np.float32)
    return np.concatenate([np.asarray(outline, dtype=np.float32) for outline in outlines])
