"""Quadrilateral order, straightened crops of rotated text regions, reading order."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference_exp.models.ppocr.geometry import (
    crop_text_region,
    order_clockwise,
    reading_order,
    snap_to_pixels,
)


def _pattern(height: int = 24, width: int = 96) -> np.ndarray:
    """A BGR patch that shows its orientation: a horizontal ramp, and a white top-left quarter."""
    ramp = np.linspace(0, 200, width, dtype=np.float32)
    patch = np.repeat(np.repeat(ramp[None, :, None], height, axis=0), 3, axis=2).astype(np.uint8)
    patch[: height // 2, : width // 4] = 255
    return patch


@pytest.mark.parametrize("angle", [-12.0, 0.0, 17.0])
def test_crop_straightens_a_rotated_quadrilateral(angle):
    patch = _pattern()
    height, width = patch.shape[:2]
    canvas = np.zeros((240, 320, 3), dtype=np.uint8)
    x0, y0 = 110, 100
    canvas[y0 : y0 + height, x0 : x0 + width] = patch
    rotation = cv2.getRotationMatrix2D((160.0, 112.0), angle, 1.0)
    rotated = cv2.warpAffine(canvas, rotation, (320, 240), flags=cv2.INTER_CUBIC)
    corners = np.array([[x0, y0], [x0 + width, y0], [x0 + width, y0 + height], [x0, y0 + height]], dtype=np.float64)
    quad = (np.c_[corners, np.ones(4)] @ rotation.T).astype(np.float32)
    crop = crop_text_region(rotated, quad)
    # Sides are truncated to whole pixels: a rotated side of 96 may measure 95.99... and give 95.
    assert crop.shape[0] in (height - 1, height) and crop.shape[1] in (width - 1, width) and crop.shape[2] == 3
    crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
    inner = (slice(2, -2), slice(2, -2))  # edges mix with the black canvas through two interpolations
    difference = np.abs(crop[inner].astype(int) - patch[inner].astype(int))
    assert difference.mean() < 4 and np.percentile(difference, 99) < 40


def test_tall_crops_are_turned_counter_clockwise():
    patch = np.zeros((60, 20, 3), dtype=np.uint8)
    patch[:10] = 255  # the top of the tall region is white
    quad = np.array([[0, 0], [20, 0], [20, 60], [0, 60]], dtype=np.float32)
    crop = crop_text_region(patch, quad)
    assert crop.shape == (20, 60, 3)
    assert crop[:, :8].min() == 255 and crop[:, 12:].max() == 0  # the top is now on the left


def test_crop_of_a_degenerate_quadrilateral_is_at_least_one_pixel():
    image = np.full((10, 10, 3), 7, dtype=np.uint8)
    crop = crop_text_region(image, np.array([[2, 2], [2.5, 2], [2.5, 2.5], [2, 2.5]], dtype=np.float32))
    assert crop.shape == (1, 1, 3) and crop[0, 0, 0] == 7


@pytest.mark.parametrize("shift", range(4))
@pytest.mark.parametrize("angle", [-30.0, 0.0, 25.0])
def test_order_clockwise_starts_top_left_whatever_the_input_order(shift, angle):
    expected = cv2.boxPoints(((50.0, 40.0), (60.0, 20.0), angle))
    expected = np.roll(expected, -int(np.argmin(expected.sum(axis=1))), axis=0)  # top-left first
    (ax, ay), (bx, by) = expected[1] - expected[0], expected[2] - expected[1]
    if ax * by - ay * bx < 0:
        expected = expected[[0, 3, 2, 1]]  # clockwise on screen (y down) has a positive cross product
    shuffled = np.roll(expected[[0, 3, 2, 1]], shift, axis=0)  # counter-clockwise and rotated
    np.testing.assert_allclose(order_clockwise(shuffled), expected)


def _box(x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)


def test_reading_order_is_rows_top_to_bottom_then_left_to_right():
    boxes = np.stack(
        [
            _box(200, 52, 300, 70),  # 0: row 2, right (its top is slightly higher than its row neighbour's)
            _box(10, 10, 100, 30),  # 1: row 1, left
            _box(10, 55, 150, 72),  # 2: row 2, left
            _box(120, 12, 250, 31),  # 3: row 1, right
            _box(10, 90, 80, 110),  # 4: row 3
        ]
    )
    np.testing.assert_array_equal(reading_order(boxes), [1, 3, 2, 0, 4])


def test_reading_order_separates_overlapping_consecutive_lines():
    # Tall boxes of consecutive lines overlap a little; the centre of the next line is below the first's box.
    boxes = np.stack([_box(5, 63, 380, 86), _box(5, 47, 380, 66), _box(5, 81, 380, 104)])
    np.testing.assert_array_equal(reading_order(boxes), [1, 0, 2])


def test_reading_order_of_nothing():
    assert reading_order(np.zeros((0, 4, 2), dtype=np.float32)).shape == (0,)


def test_snap_to_pixels_rounds_and_keeps_vertices_inside_the_image():
    quad = np.array([[-0.6, 2.4], [10.4, 2.6], [12.7, 9.9], [0.2, 7.5]], dtype=np.float32)
    np.testing.assert_array_equal(snap_to_pixels(quad, width=12, height=9), [[0, 2], [10, 3], [11, 8], [0, 8]])
