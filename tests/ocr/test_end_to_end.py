"""End to end on the real weights: install script → model cache → AutoModel by id with no network → OCR."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from real_weights import INSTALL_SCRIPT, PAGE, page_lines, requires_rapidocr_wheel
from tiny_ppocr import needs_pyclipper

from inference_exp import AutoModel
from inference_exp.cache import ModelCache
from inference_exp.models.ppocr import OCRPipeline, PPOCRTextDetection, PPOCRTextRecognition

pytestmark = needs_pyclipper


def _run_install_script() -> str:
    completed = subprocess.run(
        [sys.executable, str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_installed_models_read_page_png_without_network(no_network):
    requires_rapidocr_wheel()
    first = _run_install_script()  # into this test's INFERENCE_HOME (tests/conftest.py)
    assert "pp-ocrv4-det: pp-ocrv4-det / object-detection" in first
    assert "pp-ocrv4-rec: pp-ocrv4-rec / text-only-ocr" in first
    assert _run_install_script() == first  # idempotent: the same packages, at the same places
    cache = ModelCache()
    assert cache.is_installed_locally("pp-ocrv4-det") and cache.is_installed_locally("pp-ocrv4-rec")

    detector = AutoModel.from_pretrained("pp-ocrv4-det")
    recognizer = AutoModel.from_pretrained("pp-ocrv4-rec")
    assert isinstance(detector, PPOCRTextDetection) and isinstance(recognizer, PPOCRTextRecognition)
    assert len(recognizer.characters) == 6625  # blank + the 6623 characters of the ONNX metadata + space

    pipeline = OCRPipeline.from_pretrained("pp-ocrv4-det", "pp-ocrv4-rec")
    [result] = pipeline(PAGE)
    expected = page_lines()

    def squeezed(text: str) -> str:
        return "".join(text.split())

    # PP-OCRv4 (a Chinese model) reads 5 of the 7 lines and tends to drop spaces after punctuation.
    assert "Let us first determine markers of the coins and the" in result.texts
    found = [line for line in expected if squeezed(line) in {squeezed(text) for text in result.texts}]
    assert len(found) >= 5, result.texts
    assert result.texts == [text for line in expected for text in result.texts if squeezed(text) == squeezed(line)]
    height, width = 191, 384
    assert result.image_metadata["original_size"] == {"height": height, "width": width}
    assert (result.polygons[..., 0] <= width).all() and (result.polygons[..., 1] <= height).all()
