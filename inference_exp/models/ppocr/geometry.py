"""Quadrilateral helpers of the OCR families: vertex order, straightened crops, reading order."""

from __future__ import annotations

import cv2
import numpy as np

#: A crop at least this many times taller than wide holds vertical text: it is turned to read left to right.
TALL_CROP_RATIO = 1.5


def order_clockwise(points: np.ndarray) -> np.ndarray:
    """The four vertices of a convex quadrilateral, clockwise from the top-left one (``(4, 2)`` float32).

    Clockwise in image coordinates (y down) is by increasing angle around the centre; the start is the vertex
    with the smallest ``x + y``, the top-left corner of any quadrilateral turned by less than 45 degrees.
    """
    points = np.asarray(points, dtype=np.float32).reshape(4, 2)
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ordered = points[np.argsort(angles, kind="stable")]
    start = int(np.argmin(ordered.sum(axis=1)))
    return np.roll(ordered, -start, axis=0)


def snap_to_pixels(quadrilateral: np.ndarray, width: int, height: int) -> np.ndarray:
    """Vertices rounded to whole pixels and moved inside a ``width`` x ``height`` image (``0..W-1``, ``0..H-1``).

    This is where PaddleOCR cuts its line crops; cropping at the same vertices gives the recogniser the same
    pixels (its readings, spaces especially, change with sub-pixel shifts of the crop).
    """
    snapped = np.round(np.asarray(quadrilateral, dtype=np.float32))
    return np.clip(snapped, 0, np.array([width - 1, height - 1], dtype=np.float32))


def crop_text_region(image: np.ndarray, quadrilateral: np.ndarray) -> np.ndarray:
    """The text inside ``quadrilateral``, warped to an upright rectangle (HWC, same dtype as ``image``).

    The output is as wide as the longer of the top and bottom edges and as tall as the longer of the side edges
    (truncated to whole pixels, at least 1); the four vertices (clockwise from top-left) map to its corners,
    sampled bicubically with replicated borders. A crop at least :data:`TALL_CROP_RATIO` times taller than wide
    is rotated 90 degrees counter-clockwise, so that vertical text reads left to right.
    """
    quad = np.asarray(quadrilateral, dtype=np.float32).reshape(4, 2)
    top_left, top_right, bottom_right, bottom_left = quad
    width = int(max(np.linalg.norm(top_left - top_right), np.linalg.norm(bottom_left - bottom_right)))
    height = int(max(np.linalg.norm(top_left - bottom_left), np.linalg.norm(top_right - bottom_right)))
    width, height = max(width, 1), max(height, 1)
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, corners)
    crop = cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if height >= TALL_CROP_RATIO * width:
        crop = np.ascontiguousarray(np.rot90(crop))
    return crop


def reading_order(polygons: np.ndarray) -> np.ndarray:
    """Indices that put text regions in reading order: rows top to bottom, left to right within a row.

    Regions are taken by the vertical centre of their bounding box; a region joins the current row when its
    centre lies within the vertical extent of the row's first region, otherwise it starts a new row. Each row is
    then ordered by the left edge of its regions.

    Args:
        polygons: ``(N, K, 2)`` vertices of each region.

    Returns:
        ``(N,)`` int64 indices into ``polygons``.
    """
    polygons = np.asarray(polygons, dtype=np.float32)
    if len(polygons) == 0:
        return np.zeros(0, dtype=np.int64)
    top, bottom = polygons[:, :, 1].min(axis=1), polygons[:, :, 1].max(axis=1)
    left = polygons[:, :, 0].min(axis=1)
    centre = (top + bottom) / 2
    rows: list[list[int]] = []
    row_extent = (0.0, -1.0)
    for index in np.argsort(centre, kind="stable").tolist():
        if rows and row_extent[0] <= centre[index] <= row_extent[1]:
            rows[-1].append(index)
        else:
            rows.append([index])
            row_extent = (float(top[index]), float(bottom[index]))
    return np.array([i for row in rows for i in sorted(row, key=lambda i: (left[i], centre[i]))], dtype=np.int64)
