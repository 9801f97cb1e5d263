"""The text-detection family on tiny ONNX detectors: size rule, map-back to original pixels, parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_ppocr import GREEN, needs_pyclipper

from inference_exp.entities.ocr import TextDetections
from inference_exp.errors import InvalidParameterError
from inference_exp.models.ppocr import PPOCRTextDetection, detection_input_size
from inference_exp.models.registry import resolve_model_class
from inference_exp.processing import Size, plan_transform

pytestmark = needs_pyclipper


@pytest.mark.parametrize(
    ("height", "width", "limit", "kind", "expected"),
    [
        # page.png: 736 / 191 scales 384 to 1479.7 → 1479 → 46.2 multiples of 32 → 1472; 191 → 735 → 736.
        (191, 384, 736, "min", (1472, 736)),
        (1000, 1500, 736, "min", (1504, 992)),  # large enough: only rounded to multiples of 32
        (1000, 2000, 960, "max", (960, 480)),  # the longer side limited to 960
        (80, 48, 960, "max", (64, 64)),  # 48 / 32 = 1.5 → 2, 80 / 32 = 2.5 → 2: Python rounds halves to even
        (10, 10, 960, "max", (32, 32)),  # never below one multiple
    ],
)
def test_limit_side_rule(height, width, limit, kind, expected):
    assert detection_input_size(height, width, limit, kind) == expected


def _image_with_rectangle(x0: int, y0: int, x1: int, y1: int, size=(100, 200)) -> np.ndarray:
    image = np.zeros((*size, 3), dtype=np.uint8)
    image[y0:y1, x0:x1] = GREEN
    return image


def _unclipped_box(x0: float, y0: float, x1: float, y1: float, scale: float, ratio: float = 1.6) -> np.ndarray:
    """``x1, y1, x2, y2`` of an original-pixel rectangle grown by the unclip distance of its network-size twin."""
    width, height = (x1 - x0) * scale, (y1 - y0) * scale
    distance = width * height * ratio / (2 * (width + height)) / scale
    return np.array([x0 - distance, y0 - distance, x1 + distance, y1 + distance])


def test_registered_for_onnx():
    assert resolve_model_class("pp-ocrv4-det", "object-detection", "onnx") is PPOCRTextDetection


def test_detects_a_rectangle_in_original_pixels(tiny_detector):
    [detections] = tiny_detector(_image_with_rectangle(40, 30, 120, 50))
    assert isinstance(detections, TextDetections) and len(detections) == 1
    assert detections.class_name == ["text"] and detections.class_id.tolist() == [0]
    assert detections.confidence.item() > 0.9
    # 200 x 100 runs at 1472 x 736 (scale 7.36); the map's edges are blurred by bilinear resizing: within 1 px.
    np.testing.assert_allclose(detections.xyxy[0].numpy(), _unclipped_box(40, 30, 120, 50, 7.36), atol=1.0)
    polygon = detections.polygons[0].numpy()
    np.testing.assert_allclose(detections.xyxy[0].numpy(), [*polygon.min(axis=0), *polygon.max(axis=0)])
    assert polygon[0, 0] < polygon[1, 0] and polygon[1, 1] < polygon[2, 1]  # clockwise from top-left
    assert detections.image_metadata["inference_size"] == {"height": 736, "width": 1472}
    assert detections.to_dict()["detections"][0]["polygon"] == polygon.tolist()


def test_map_back_divides_network_quadrilaterals_by_the_scale(tiny_detector):
    # A 2x stretch: network pixels 20..99 x 40..59 hold text; the unclipped network box is exact (see the DB
    # tests), and the family maps it back by the transform: exactly half.
    transform = plan_transform(100, 200, Size(200, 400), "stretch")
    probability = torch.zeros((1, 1, 200, 400))
    probability[0, 0, 40:60, 20:100] = 1.0
    [detections] = tiny_detector.predictions([probability], [transform], tiny_detector.resolve({"use_dilation": False}))
    distance = 79 * 19 * 1.6 / (2 * (79 + 19))
    expected = np.array([round(20 - distance), round(40 - distance), round(99 + distance), round(59 + distance)]) / 2
    np.testing.assert_array_equal(detections.xyxy[0].numpy(), expected.astype(np.float32))


def test_regions_are_clipped_to_the_image(tiny_detector):
    [detections] = tiny_detector(_image_with_rectangle(0, 0, 60, 20))
    assert detections.polygons.min() >= 0
    assert detections.xyxy[0, :2].tolist() == [0.0, 0.0]


def test_numpy_tensor_and_several_images(tiny_detector):
    image = _image_with_rectangle(40, 30, 120, 50)
    rgb_tensor = torch.from_numpy(image[:, :, ::-1].copy()).permute(2, 0, 1)
    other = _image_with_rectangle(10, 10, 50, 30, size=(60, 90))
    first, second, third = tiny_detector([image, rgb_tensor, other])
    torch.testing.assert_close(first.polygons, second.polygons, atol=0.05, rtol=0)
    assert third.image_metadata["original_size"] == {"height": 60, "width": 90}
    np.testing.assert_allclose(third.xyxy[0].numpy(), _unclipped_box(10, 10, 50, 30, 736 / 60), atol=1.0)


def test_parameters(tiny_detector):
    image = _image_with_rectangle(40, 30, 120, 50)
    [wide] = tiny_detector(image, unclip_ratio=3.0)
    np.testing.assert_allclose(wide.xyxy[0].numpy(), _unclipped_box(40, 30, 120, 50, 7.36, ratio=3.0), atol=1.0)
    [explicit] = tiny_detector(image, image_size=(300, 150))  # rounded up to multiples of 32
    assert explicit.image_metadata["inference_size"] == {"height": 160, "width": 320}
    [limited] = tiny_detector(image, limit_side_len=64, limit_type="max")
    assert limited.image_metadata["inference_size"] == {"height": 32, "width": 64}
    [strict] = tiny_detector(image, box_thresh=0.99)  # the alias of box_threshold; the mean inside is < 0.99
    assert len(strict) == 0
    with pytest.raises(InvalidParameterError, match="limit_type"):
        tiny_detector(image, limit_type="middle")
    with pytest.raises(InvalidParameterError, match="confidence"):
        tiny_detector(image, confidence=0.5)
    with pytest.raises(InvalidParameterError, match="unclip_ratio"):
        tiny_detector(image, unclip_ratio=0)
