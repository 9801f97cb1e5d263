"""Parity with the reference pipeline (RapidOCR 1.4.4, PP-OCRv4, no angle classifier) on the same weights.

Images: page.png and rendered text (several lines, colours, a slightly rotated page). Our detector must find
the same regions (vertices within 2 px), our recogniser must read the same crops as the reference recogniser
(same strings, confidences within 1e-3), and the whole pipeline must return the same lines in the same order
with the same strings.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from real_weights import PAGE, WHEEL_SETUP, install_script, requires_rapidocr_wheel
from tiny_ppocr import ONNX_OPTIONS, needs_pyclipper

from inference_exp.models.ppocr import OCRPipeline, PPOCRTextDetection, PPOCRTextRecognition
from inference_exp.models.ppocr.geometry import crop_text_region

pytestmark = [pytest.mark.parity, needs_pyclipper]

MAX_VERTEX_DISTANCE = 2.0


def _rendered(lines: list[str], *, size=(200, 640), colour=(0, 0, 0), background=(255, 255, 255), font=0, scale=1.0):
    image = np.full((*size, 3), background, dtype=np.uint8)
    for index, line in enumerate(lines):
        cv2.putText(image, line, (20, 50 + 55 * index), font, scale, colour, 2, cv2.LINE_AA)
    return image


def _rotated(image: np.ndarray, angle: float) -> np.ndarray:
    height, width = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(image, rotation, (width, height), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))


def _images() -> dict[str, np.ndarray]:
    lines = ["Hello world 2024", "The quick brown fox", "jumps over 13 lazy dogs"]
    return {
        "page": cv2.imread(str(PAGE), cv2.IMREAD_COLOR),
        "rendered": _rendered(lines),
        "rotated": _rotated(_rendered(lines, size=(240, 640)), 4.0),
        "colour": _rendered(
            ["Invoice No. 58213", "Total: 1,024.50 EUR"],
            size=(160, 560),
            colour=(150, 40, 0),
            background=(200, 245, 255),
            font=cv2.FONT_HERSHEY_DUPLEX,
            scale=1.2,
        ),
    }


IMAGES = _images()


@pytest.fixture(scope="module")
def reference():
    requires_rapidocr_wheel()
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as error:  # its runtime imports (shapely, PyYAML, ...) are installed separately
        pytest.skip(f"the rapidocr_onnxruntime wheel cannot be imported: {error} (`{WHEEL_SETUP}`)")
    return RapidOCR()


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> OCRPipeline:
    requires_rapidocr_wheel()
    installed = install_script().install(tmp_path_factory.mktemp("ppocr-cache"))
    det_dir, rec_dir = (Path(model.package_dir) for model in installed)
    return OCRPipeline(
        PPOCRTextDetection.from_pretrained(det_dir, ONNX_OPTIONS),
        PPOCRTextRecognition.from_pretrained(rec_dir, ONNX_OPTIONS),
    )


def _pair(ours: np.ndarray, theirs: np.ndarray) -> list[tuple[int, int]]:
    """Match quadrilaterals by their centres (each of ours to the nearest of theirs), checking it is one-to-one."""
    assert len(ours) == len(theirs), f"{len(ours)} regions where the reference has {len(theirs)}"
    distances = np.linalg.norm(ours.mean(axis=1)[:, None] - theirs.mean(axis=1)[None], axis=-1)
    nearest = distances.argmin(axis=1)
    assert len(set(nearest.tolist())) == len(ours)
    return list(enumerate(nearest.tolist()))


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_detection_matches_the_reference(name, ours, reference):
    image = IMAGES[name]
    theirs, _ = reference.text_det(image)
    [found] = ours.detector(image)
    polygons = found.polygons.numpy()
    assert len(polygons) >= 2
    for mine, index in _pair(polygons, np.asarray(theirs, dtype=np.float32)):
        np.testing.assert_allclose(polygons[mine], theirs[index], atol=MAX_VERTEX_DISTANCE, rtol=0)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_recognition_matches_the_reference(name, ours, reference):
    image = IMAGES[name]
    [found] = ours.detector(image)
    crops = [crop_text_region(image, quad) for quad in found.polygons.numpy()]
    theirs, _ = reference.text_rec(crops)
    mine = ours.recognizer(crops)
    assert [text.text for text in mine] == [text for text, _ in theirs]
    np.testing.assert_allclose([t.confidence for t in mine], [score for _, score in theirs], atol=1e-3)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_pipeline_matches_the_reference(name, ours, reference):
    image = IMAGES[name]
    theirs, _ = reference(image, use_cls=False)
    [result] = ours(image)
    assert result.texts == [text for _, text, _ in theirs]
    boxes = np.asarray([box for box, _, _ in theirs], dtype=np.float32)
    np.testing.assert_allclose(result.polygons.numpy(), boxes, atol=MAX_VERTEX_DISTANCE, rtol=0)
    np.testing.assert_allclose(result.confidence.numpy(), [score for _, _, score in theirs], atol=0.05)
