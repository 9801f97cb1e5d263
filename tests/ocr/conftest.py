"""Fixtures of the OCR tests: tiny PP-OCR packages and models loaded from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_ppocr import ONNX_OPTIONS, detector_package, recognizer_package

from inference_exp.models.ppocr import PPOCRTextDetection, PPOCRTextRecognition


@pytest.fixture(scope="session")
def tiny_detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return detector_package(tmp_path_factory.mktemp("tiny-det"))


@pytest.fixture(scope="session")
def tiny_recognizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recognizer_package(tmp_path_factory.mktemp("tiny-rec"))


@pytest.fixture(scope="session")
def tiny_detector(tiny_detector_dir: Path) -> PPOCRTextDetection:
    return PPOCRTextDetection.from_pretrained(tiny_detector_dir, ONNX_OPTIONS)


@pytest.fixture(scope="session")
def tiny_recognizer(tiny_recognizer_dir: Path) -> PPOCRTextRecognition:
    return PPOCRTextRecognition.from_pretrained(tiny_recognizer_dir, ONNX_OPTIONS)
