"""Ultralytics' classification transform: Pillow's antialiased bilinear resize, shorter side, center crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_exp.models.yolo.classification import plan_resize_center_crop
from inference_exp.models.yolo.resample import resize_antialiased
from inference_exp.processing import Size

Image = pytest.importorskip("PIL.Image")


def pillow(image: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def test_uint8_resize_is_bit_exact_with_pillow() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        image = rng.integers(0, 256, (int(rng.integers(1, 70)), int(rng.integers(1, 70)), 3), dtype=np.uint8)
        height, width = (int(v) for v in rng.integers(1, 90, 2))
        assert np.array_equal(resize_antialiased(image, height, width), pillow(image, height, width)), (
            image.shape, height, width
        )


def test_large_downscale_is_bit_exact_with_pillow() -> None:
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (1080, 810, 3), dtype=np.uint8)
    for height, width in ((298, 224), (224, 168), (100, 400)):  # shrinking height most: vertical pass first
        assert np.array_equal(resize_antialiased(image, height, width), pillow(image, height, width))


def test_float_tensor_resize_matches_within_rounding() -> None:
    rng = np.random.default_rng(9)
    image = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    tensor = torch.from_numpy(image).permute(2, 0, 1).to(torch.float32)
    resized = resize_antialiased(tensor, 40, 50).permute(1, 2, 0).numpy()
    assert np.abs(resized - pillow(image, 40, 50)).max() <= 1.0  # Pillow rounds to uint8 after each pass


@pytest.mark.parametrize(
    ("height", "width", "resized", "top", "left"),
    [
        (1080, 810, (298, 224), 37, 0),  # bus.jpg in the reference: resize to 224 x 298 (w x h), crop top 37
        (720, 1280, (224, 398), 0, 87),  # zidane.jpg
        (100, 101, (224, 226), 0, 1),
        (224, 224, (224, 224), 0, 0),
        (10, 40, (224, 896), 0, 336),  # upscaled
    ],
)
def test_resize_center_crop_plan(height, width, resized, top, left) -> None:
    transform = plan_resize_center_crop(height, width, Size(224, 224))
    assert transform.resized_size == resized
    assert (transform.pad_top, transform.pad_left) == (-top, -left)
    assert transform.network_size == (224, 224)
    # a point maps back through the crop and the scale
    back = transform.points_to_original(np.array([[0.0, 0.0]], dtype=np.float32))[0]
    assert back.tolist() == pytest.approx([left * width / resized[1], top * height / resized[0]], rel=1e-6)


def test_odd_crop_margins_round_like_torchvision() -> None:
    # 75 spare rows: round(37.5) = 38 (Python rounds half to even); 73 spare rows: round(36.5) = 36
    assert plan_resize_center_crop(299, 224, Size(224, 224)).pad_top == -38
    assert plan_resize_center_crop(297, 224, Size(224, 224)).pad_top == -36
