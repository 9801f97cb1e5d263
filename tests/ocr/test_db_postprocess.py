"""DB post-processing on synthetic probability maps whose text regions are known exactly."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from tiny_ppocr import needs_pyclipper

from inference_exp.models.ppocr.db_postprocess import (
    MIN_SIZE,
    DBParameters,
    mean_probability_inside,
    text_regions,
    unclip,
)

pytestmark = needs_pyclipper


def _rectangle_map(x0: int, y0: int, x1: int, y1: int, value: float = 0.9, shape=(60, 80)) -> np.ndarray:
    """A map with ``value`` on the pixels ``x0..x1-1`` x ``y0..y1-1`` and 0 elsewhere."""
    probability = np.zeros(shape, dtype=np.float32)
    probability[y0:y1, x0:x1] = value
    return probability


def _grown(x0: float, y0: float, x1: float, y1: float, ratio: float) -> np.ndarray:
    """The axis-aligned rectangle through pixel centres ``x0..x1, y0..y1`` grown by the unclip distance.

    The distance is ``area * ratio / perimeter``; pyclipper returns integer coordinates (rounded), and the
    round joins do not reach beyond the straight edges, so the minimum-area rectangle is the rounded grown box.
    """
    width, height = x1 - x0, y1 - y0
    distance = width * height * ratio / (2 * (width + height))
    left, top = round(x0 - distance), round(y0 - distance)
    right, bottom = round(x1 + distance), round(y1 + distance)
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float32)


def test_rectangle_with_dilation_grows_by_the_unclip_distance():
    # Pixels 10..49 x 20..29; the 2x2 dilation adds one column right and one row below: centres 10..50 x 20..30.
    quads, scores = text_regions(_rectangle_map(10, 20, 50, 30))
    np.testing.assert_array_equal(quads, [_grown(10, 20, 50, 30, 1.6)])
    # The score averages the 41 x 11 pixels of the dilated rectangle, of which the 40 x 10 original ones hold 0.9.
    assert scores[0] == pytest.approx(0.9 * 40 * 10 / (41 * 11), rel=1e-6)


def test_rectangle_without_dilation():
    quads, scores = text_regions(_rectangle_map(10, 20, 50, 30), DBParameters(use_dilation=False))
    np.testing.assert_array_equal(quads, [_grown(10, 20, 49, 29, 1.6)])
    assert scores[0] == pytest.approx(0.9, rel=1e-6)


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_unclip_ratio_scales_the_growth(ratio):
    quads, _ = text_regions(_rectangle_map(10, 20, 50, 30), DBParameters(unclip_ratio=ratio, use_dilation=False))
    np.testing.assert_array_equal(quads, [_grown(10, 20, 49, 29, ratio)])


def test_threshold_decides_which_pixels_are_text():
    probability = _rectangle_map(10, 20, 50, 30, value=0.6)
    assert len(text_regions(probability, DBParameters(threshold=0.3, box_threshold=0.5))[0]) == 1
    assert len(text_regions(probability, DBParameters(threshold=0.6, box_threshold=0.5))[0]) == 0  # strictly above


def test_box_threshold_drops_faint_regions():
    faint = _rectangle_map(10, 20, 50, 30, value=0.45)
    assert len(text_regions(faint, DBParameters(use_dilation=False))[0]) == 0
    assert len(text_regions(faint, DBParameters(use_dilation=False, box_threshold=0.4))[0]) == 1


def test_regions_with_a_short_side_below_the_minimum_are_noise():
    # 2 pixels tall: the rectangle through the pixel centres is 1 high (< MIN_SIZE) even after dilation (2).
    thin = _rectangle_map(10, 20, 50, 22)
    assert MIN_SIZE > 2
    assert len(text_regions(thin)[0]) == 0


def test_max_candidates_limits_the_contours_examined():
    probability = _rectangle_map(5, 5, 35, 15) + _rectangle_map(5, 35, 35, 45)
    assert len(text_regions(probability)[0]) == 2
    assert len(text_regions(probability, DBParameters(max_candidates=1))[0]) == 1


def test_empty_map_gives_empty_arrays():
    quads, scores = text_regions(np.zeros((32, 32), dtype=np.float32))
    assert quads.shape == (0, 4, 2) and quads.dtype == np.float32
    assert scores.shape == (0,) and scores.dtype == np.float32


def test_rotated_rectangle_gives_a_rotated_quadrilateral_clockwise_from_top_left():
    probability = np.zeros((120, 160), dtype=np.float32)
    corners = cv2.boxPoints(((80.0, 60.0), (80.0, 16.0), 20.0))
    cv2.fillPoly(probability, [np.round(corners).astype(np.int32)], 0.9)
    [quad], _ = text_regions(probability, DBParameters(use_dilation=False))
    top_left, top_right, bottom_right, bottom_left = quad
    angle = math.degrees(math.atan2(top_right[1] - top_left[1], top_right[0] - top_left[0]))
    assert angle == pytest.approx(20.0, abs=1.5)
    np.testing.assert_allclose(quad.mean(axis=0), (80.0, 60.0), atol=1.0)
    # Clockwise from the top-left corner: right along the top edge, then down the right side.
    assert top_left[0] < top_right[0] and top_right[1] < bottom_right[1] and bottom_left[0] < bottom_right[0]
    # The grown rectangle is larger than the 80 x 16 one by about twice the unclip distance on each side.
    distance = 80 * 16 * 1.6 / (2 * (80 + 16))
    assert np.linalg.norm(top_right - top_left) == pytest.approx(80 + 2 * distance, abs=3)
    assert np.linalg.norm(bottom_left - top_left) == pytest.approx(16 + 2 * distance, abs=3)


def test_fast_score_is_the_mean_inside_the_truncated_polygon():
    probability = np.arange(100, dtype=np.float32).reshape(10, 10)
    square = np.array([[2.7, 3.2], [5.9, 3.2], [5.9, 6.8], [2.7, 6.8]], dtype=np.float32)
    # Vertices truncate to x 2..5, y 3..6: the 4 x 4 pixels with those coordinates.
    assert mean_probability_inside(probability, square) == pytest.approx(probability[3:7, 2:6].mean())


def test_unclip_of_a_degenerate_polygon_is_empty():
    assert unclip(np.zeros((4, 2), dtype=np.float32), 1.6).shape == (0, 2)
