"""The OCR pipeline on tiny models: detect, straighten, recognise, filter, order; and the OCR entities."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from tiny_ppocr import BLUE, GREEN, RED, needs_pyclipper

from inference_exp.entities.ocr import OCRResult, TextDetections
from inference_exp.errors import InvalidParameterError
from inference_exp.models.ppocr import OCRPipeline

pytestmark = needs_pyclipper


def _line(image: np.ndarray, x: int, y: int, colours: list[tuple[int, int, int]], widths: list[int], height: int) -> None:
    for colour, width in zip(colours, widths, strict=True):
        image[y : y + height, x : x + width] = colour
        x += width


def _two_lines() -> np.ndarray:
    """Two "text lines" for the tiny models: green = ``a``, blue = a gap, red = a space."""
    image = np.zeros((110, 200, 3), dtype=np.uint8)
    _line(image, 20, 60, [GREEN, RED, GREEN], [20, 10, 20], 20)  # "a a", drawn second but lower
    _line(image, 20, 15, [GREEN, BLUE, GREEN], [20, 10, 20], 20)  # "aa"
    return image


@pytest.fixture(scope="module")
def pipeline(tiny_detector, tiny_recognizer) -> OCRPipeline:
    return OCRPipeline(tiny_detector, tiny_recognizer)


def test_reads_lines_in_reading_order(pipeline):
    [result] = pipeline(_two_lines())
    assert isinstance(result, OCRResult)
    assert result.texts == ["aa", "a a"] and result.text == "aa\na a"
    top, bottom = result.xyxy.numpy()
    assert top[1] < top[3] < bottom[1] < bottom[3]
    assert (result.confidence > 0.5).all() and (result.detection_confidence > 0.9).all()
    assert result.polygons.shape == (2, 4, 2) and result.image_metadata["original_size"] == {"height": 110, "width": 200}


def test_text_threshold_drops_uncertain_lines(pipeline):
    [result] = pipeline(_two_lines(), text_threshold=0.999)
    assert len(result) == 0 and result.text == ""
    with pytest.raises(InvalidParameterError, match="text_threshold"):
        pipeline(_two_lines(), text_threshold=2)


def test_detection_parameters_pass_through(pipeline):
    [result] = pipeline(_two_lines(), box_threshold=0.999)
    assert len(result) == 0
    with pytest.raises(InvalidParameterError):
        pipeline(_two_lines(), bogus=1)


def test_rotated_line_is_straightened_before_recognition(pipeline):
    image = np.zeros((160, 240, 3), dtype=np.uint8)
    _line(image, 70, 70, [GREEN, RED, GREEN, BLUE, GREEN], [24, 12, 24, 12, 24], 24)
    rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D((120.0, 82.0), 15.0, 1.0), (240, 160))
    [result] = pipeline(rotated)
    assert result.texts == ["a aa"]
    top_left, top_right = result.polygons[0, 0].numpy(), result.polygons[0, 1].numpy()
    angle = np.degrees(np.arctan2(top_right[1] - top_left[1], top_right[0] - top_left[0]))
    assert angle == pytest.approx(-15.0, abs=1.5)  # OpenCV's positive angle turns counter-clockwise on screen


def test_several_inputs_of_different_kinds(pipeline):
    image = _two_lines()
    rgb = torch.from_numpy(image[:, :, ::-1].copy()).permute(2, 0, 1)
    empty = np.zeros((50, 50, 3), dtype=np.uint8)
    first, second, third = pipeline([image, rgb, empty])
    assert first.texts == second.texts == ["aa", "a a"]
    assert len(third) == 0 and third.polygons.shape == (0, 4, 2)


def test_result_conversions(pipeline):
    [result] = pipeline(_two_lines())
    lines = result.lines
    assert [line.text for line in lines] == ["aa", "a a"]
    assert len(lines[0].polygon) == 4 and lines[0].xyxy == tuple(result.xyxy[0].tolist())
    document = json.loads(json.dumps(result.to_dict()))
    assert [line["text"] for line in document["lines"]] == ["aa", "a a"]
    arrays = result.to_numpy()
    assert arrays["text"].tolist() == ["aa", "a a"] and arrays["polygons"].shape == (2, 4, 2)
    detections = result.to_supervision()
    assert list(detections.data["text"]) == ["aa", "a a"]
    assert detections.data["polygon"].shape == (2, 4, 2)
    np.testing.assert_allclose(detections.xyxy, result.xyxy.numpy())
    assert detections.class_id.tolist() == [0, 0]


def test_pipeline_checks_its_models(tiny_detector, tiny_recognizer):
    with pytest.raises(InvalidParameterError, match="detector"):
        OCRPipeline(tiny_recognizer, tiny_recognizer)
    with pytest.raises(InvalidParameterError, match="recognizer"):
        OCRPipeline(tiny_detector, tiny_detector)


def test_from_pretrained_loads_both_models_by_path(tiny_detector_dir, tiny_recognizer_dir):
    pipeline = OCRPipeline.from_pretrained(str(tiny_detector_dir), str(tiny_recognizer_dir))
    assert pipeline(_two_lines())[0].texts == ["aa", "a a"]


def test_entities_check_their_shapes():
    with pytest.raises(ValueError, match="polygons"):
        TextDetections(
            xyxy=torch.zeros((1, 4)),
            class_id=torch.zeros(1, dtype=torch.int64),
            confidence=torch.ones(1),
            polygons=torch.zeros((1, 5, 2)),
        )
    with pytest.raises(ValueError, match="texts"):
        OCRResult(
            polygons=torch.zeros((1, 4, 2)),
            xyxy=torch.zeros((1, 4)),
            texts=[],
            confidence=torch.ones(1),
            detection_confidence=torch.ones(1),
        )
