"""Letterbox output vs the reference recipe of the fixtures MANIFEST ("Preprocessing used by the references")."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference_exp.packages.inference_config import parse_inference_config
from inference_exp.processing import Size, build_preprocessor, resize_image

pytestmark = pytest.mark.parity


def manifest_letterbox(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int]]:
    """Steps 2-6 of the MANIFEST recipe, written out independently."""
    h, w = image.shape[:2]
    r = min(640 / h, 640 / w)
    new_w, new_h = round(w * r), round(h * r)
    dw, dh = (640 - new_w) / 2, (640 - new_h) / 2
    top, bottom, left, right = round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1)
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return padded, (left, top, right, bottom), (new_w, new_h)


def manifest_tensor(letterboxed: np.ndarray) -> torch.Tensor:
    """Step 7: BGR -> RGB, HWC -> CHW, float32 / 255, batch axis."""
    return torch.from_numpy(np.ascontiguousarray(letterboxed[:, :, ::-1].transpose(2, 0, 1))).float().div(255)[None]


YOLO_CONFIG = {
    "network_input": {
        "training_input_size": {"height": 640, "width": 640},
        "dynamic_spatial_size_supported": False,
        "color_mode": "rgb",
        "resize_mode": "letterbox",
        "padding_value": 114,
        "input_channels": 3,
        "scaling_factor": 255,
    }
}


@pytest.mark.parametrize(
    ("name", "resized_wh", "pads_ltrb"),
    [("bus.jpg", (480, 640), (80, 0, 80, 0)), ("zidane.jpg", (640, 360), (0, 140, 0, 140))],
)
def test_letterbox_is_byte_identical_to_the_reference(fixtures_dir: Path, name, resized_wh, pads_ltrb):
    image = cv2.imread(str(fixtures_dir / "images" / name))
    reference, reference_pads, reference_size = manifest_letterbox(image)
    assert reference_size == resized_wh and reference_pads == pads_ltrb  # the MANIFEST's worked examples

    ours, transform = resize_image(image, Size(640, 640), "letterbox", fill=114)
    assert ours.dtype == np.uint8 and ours.shape == (640, 640, 3)
    assert np.array_equal(ours, reference)
    assert (transform.resized_size.width, transform.resized_size.height) == resized_wh
    assert (transform.pad_left, transform.pad_top, transform.pad_right, transform.pad_bottom) == pads_ltrb

    batch, transforms = build_preprocessor(parse_inference_config(YOLO_CONFIG))(image)
    assert transforms == [transform]
    assert torch.equal(batch, manifest_tensor(reference))


def test_batch_of_both_images_matches_per_image_reference(fixtures_dir: Path):
    images = [cv2.imread(str(fixtures_dir / "images" / name)) for name in ("bus.jpg", "zidane.jpg")]
    batch, transforms = build_preprocessor(parse_inference_config(YOLO_CONFIG))(images)
    assert batch.shape == (2, 3, 640, 640)
    for row, image, transform in zip(batch, images, transforms, strict=True):
        assert torch.equal(row[None], manifest_tensor(manifest_letterbox(image)[0]))
        assert transform.original_size == Size(*image.shape[:2])
