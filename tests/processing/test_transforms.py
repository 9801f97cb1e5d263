"""The per-image transform record: planning per resize mode and mapping coordinates both ways."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from inference_exp.packages.inference_config import StaticCrop
from inference_exp.processing import image_ops, tensor_ops
from inference_exp.processing.transforms import RESIZE_MODES, Size, plan_transform

# Sides that matter: 1 (1xN / Nx1 images), small odd sizes, around and far beyond typical targets.
SIDES = st.one_of(st.integers(1, 4), st.integers(5, 99).filter(lambda v: v % 2), st.integers(100, 2500))
TARGET_SIDES = st.one_of(st.sampled_from([32, 224, 320, 640]), st.integers(1, 1024))


@st.composite
def crop_windows(draw, height: int, width: int):
    x_min = draw(st.integers(0, 99))
    y_min = draw(st.integers(0, 99))
    x_max = draw(st.integers(x_min + 1, 100))
    y_max = draw(st.integers(y_min + 1, 100))
    return StaticCrop(enabled=True, x_min=x_min, y_min=y_min, x_max=x_max, y_max=y_max).window(width, height)


@st.composite
def scenes(draw, mode: str, with_crop: bool):
    height, width = draw(SIDES), draw(SIDES)
    target = Size(draw(TARGET_SIDES), draw(TARGET_SIDES))
    window = draw(crop_windows(height, width)) if with_crop else None
    count = draw(st.integers(1, 8))
    xs = draw(st.lists(st.floats(0, width, allow_nan=False), min_size=2 * count, max_size=2 * count))
    ys = draw(st.lists(st.floats(0, height, allow_nan=False), min_size=2 * count, max_size=2 * count))
    boxes = np.array(
        [[min(xs[2 * i], xs[2 * i + 1]), min(ys[2 * i], ys[2 * i + 1]),
          max(xs[2 * i], xs[2 * i + 1]), max(ys[2 * i], ys[2 * i + 1])] for i in range(count)],
        dtype=np.float32,
    )
    points = np.stack([np.asarray(xs, np.float32), np.asarray(ys, np.float32)], axis=1)
    return plan_transform(height, width, target, mode, window), boxes, points


@pytest.mark.parametrize("with_crop", [False, True], ids=["no-crop", "static-crop"])
@pytest.mark.parametrize("mode", RESIZE_MODES)
def test_round_trip_recovers_boxes_and_points(mode, with_crop):
    @settings(max_examples=150, deadline=None)
    @given(scenes(mode, with_crop))
    def check(scene):
        transform, boxes, points = scene
        _check_invariants(transform, mode)
        for convert in (np.asarray, torch.from_numpy):
            there = transform.boxes_to_network(convert(boxes))
            back = np.asarray(transform.boxes_to_original(there))
            np.testing.assert_allclose(back, boxes, atol=0.5, rtol=0)
            there = transform.points_to_network(convert(points))
            back = np.asarray(transform.points_to_original(there))
            np.testing.assert_allclose(back, points, atol=0.5, rtol=0)
            polygons = transform.polygons_to_original([there[:3], there[3:]])
            np.testing.assert_allclose(np.concatenate([np.asarray(p) for p in polygons]), points, atol=0.5, rtol=0)

    check()


def _check_invariants(transform, mode):
    h, w = transform.size_after_crop
    rh, rw = transform.resized_size
    assert rh >= 1 and rw >= 1
    assert np.isclose(transform.scale_x, rw / w) and np.isclose(transform.scale_y, rh / h)
    if mode == "center-crop":
        assert (rh, rw) == (h, w)
    if mode in ("letterbox", "letterbox-reflect-edges"):
        assert min(transform.pad_left, transform.pad_right, transform.pad_top, transform.pad_bottom) >= 0
        assert 0 <= transform.pad_right - transform.pad_left <= 1
        assert 0 <= transform.pad_bottom - transform.pad_top <= 1
    if mode == "fit-longer-edge":
        assert transform.pad_left == transform.pad_top == transform.pad_right == transform.pad_bottom == 0


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(RESIZE_MODES),
    st.integers(1, 300),
    st.integers(1, 300),
    st.integers(8, 200),
    st.integers(8, 200),
    st.booleans(),
)
def test_transform_describes_the_pixels(mode, height, width, target_h, target_w, use_tensor):
    """A linear ramp pushed through the real resize/pad code reads back as the mapped coordinate."""
    transform = plan_transform(height, width, Size(target_h, target_w), mode)
    columns = np.broadcast_to(np.arange(width, dtype=np.float32), (height, width))
    rows = np.broadcast_to(np.arange(height, dtype=np.float32)[:, None], (height, width))
    ramp = np.ascontiguousarray(np.stack([columns, rows, columns], axis=-1))
    if use_tensor:
        out = tensor_ops.resize_and_pad(torch.from_numpy(ramp).permute(2, 0, 1), transform, mode, 0)
        out = out.permute(1, 2, 0).numpy()
    else:
        out = image_ops.resize_and_pad(ramp, transform, mode, 0)
    assert out.shape[:2] == tuple(transform.network_size)
    net_h, net_w = transform.network_size
    centers = np.stack(np.meshgrid(np.arange(net_w) + 0.5, np.arange(net_h) + 0.5), axis=-1).astype(np.float32)
    expected = transform.points_to_original(centers, clip=False) - 0.5  # pixel-index coordinates in the source
    rh, rw = transform.resized_size
    inside = (
        (expected[..., 0] >= 0) & (expected[..., 0] <= width - 1)
        & (expected[..., 1] >= 0) & (expected[..., 1] <= height - 1)
    )
    u, v = np.arange(net_w)[None, :], np.arange(net_h)[:, None]
    inside &= (u >= transform.pad_left) & (u < transform.pad_left + rw) & (v >= transform.pad_top) & (v < transform.pad_top + rh)
    np.testing.assert_allclose(out[..., 0][inside], expected[..., 0][inside], atol=2e-3)
    np.testing.assert_allclose(out[..., 1][inside], expected[..., 1][inside], atol=2e-3)


@pytest.mark.parametrize(
    ("height", "width", "resized_wh", "pads_ltrb"),
    [
        (1080, 810, (480, 640), (80, 0, 80, 0)),  # bus.jpg (MANIFEST worked example)
        (720, 1280, (640, 360), (0, 140, 0, 140)),  # zidane.jpg
        (400, 600, (640, 427), (0, 106, 0, 107)),  # fractional size: odd padding, extra pixel at the bottom
    ],
)
def test_letterbox_follows_ultralytics_rounding(height, width, resized_wh, pads_ltrb):
    transform = plan_transform(height, width, Size(640, 640), "letterbox")
    assert (transform.resized_size.width, transform.resized_size.height) == resized_wh
    assert (transform.pad_left, transform.pad_top, transform.pad_right, transform.pad_bottom) == pads_ltrb
    assert transform.scale_x == resized_wh[0] / width and transform.scale_y == resized_wh[1] / height
    # the ultralytics scale_boxes rule: per-axis gains of the rounded size and the integer padding
    box = np.array([[100.0, 200.0, 300.0, 400.0]], dtype=np.float32)
    gx, gy = resized_wh[0] / width, resized_wh[1] / height
    left, top = pads_ltrb[0], pads_ltrb[1]
    expected = [(100 - left) / gx, (200 - top) / gy, (300 - left) / gx, (400 - top) / gy]
    expected = np.clip(expected, 0, [width, height, width, height])
    np.testing.assert_allclose(transform.boxes_to_original(box)[0], expected, rtol=1e-6)


def test_center_crop_records_crops_as_negative_padding():
    transform = plan_transform(300, 101, Size(224, 224), "center-crop")
    # height 300 -> crop 76 (38 top, 38 bottom); width 101 -> pad 123 (61 left, 62 right)
    assert (transform.pad_top, transform.pad_bottom) == (-38, -38)
    assert (transform.pad_left, transform.pad_right) == (61, 62)
    assert transform.network_size == Size(224, 224) and transform.scale_x == transform.scale_y == 1.0
    np.testing.assert_allclose(transform.points_to_original(np.array([[61.0, 0.0]])), [[0.0, 38.0]])
    odd = plan_transform(225, 225, Size(224, 224), "center-crop")
    assert (odd.pad_top, odd.pad_bottom) == (0, -1)


def test_fit_longer_edge_and_stretch_sizes():
    fit = plan_transform(1080, 1920, Size(640, 640), "fit-longer-edge")
    assert fit.network_size == Size(360, 640)
    fit = plan_transform(1080, 810, Size(640, 640), "fit-longer-edge")
    assert fit.network_size == Size(640, 480)
    stretch = plan_transform(1080, 810, Size(320, 640), "stretch")
    assert stretch.network_size == Size(320, 640)
    assert stretch.scale_x == 640 / 810 and stretch.scale_y == 320 / 1080


def test_mapping_back_clips_to_the_original_image():
    transform = plan_transform(100, 200, Size(64, 64), "letterbox")
    boxes = torch.tensor([[-10.0, -10.0, 70.0, 70.0]])
    assert transform.boxes_to_original(boxes).tolist() == [[0.0, 0.0, 200.0, 100.0]]
    assert transform.boxes_to_original(boxes, clip=False)[0, 0] < 0
    with pytest.raises(ValueError, match="last axis"):
        transform.points_to_original(np.zeros((3, 4)))


def test_static_crop_offset_is_added_back():
    transform = plan_transform(100, 200, Size(50, 100), "stretch", crop_window=(20, 10, 120, 60))
    assert transform.size_after_crop == Size(50, 100) and transform.crop_offset == (20, 10)
    np.testing.assert_allclose(transform.points_to_original(np.array([[0.0, 0.0], [100.0, 50.0]])),
                               [[20.0, 10.0], [120.0, 60.0]])
    meta = transform.to_metadata()
    assert meta["static_crop_offset"] == {"x": 20, "y": 10} and meta["inference_size"] == {"height": 50, "width": 100}
