"""The text-recognition family on a tiny ONNX recogniser whose classes follow the colour of each column."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_ppocr import BLUE, GREEN, ONNX_OPTIONS, RED, column_probability, recognizer_package, striped_crop

from inference_exp.entities.ocr import RecognizedText
from inference_exp.errors import CorruptedModelPackageError, InvalidParameterError
from inference_exp.models.ppocr import PPOCRTextRecognition
from inference_exp.models.registry import resolve_model_class


def test_registered_for_onnx():
    assert resolve_model_class("pp-ocrv4-rec", "text-only-ocr", "onnx") is PPOCRTextRecognition


def test_decodes_columns_with_the_dictionary(tiny_recognizer):
    assert tiny_recognizer.characters == ("", "a", " ")
    assert tiny_recognizer.class_names == ()
    crop = striped_crop([GREEN, BLUE, GREEN, RED, GREEN, GREEN], column_width=8)
    [result] = tiny_recognizer(crop)
    # a, blank, a, space, a (two green stripes are one run); padding to 320 columns is mid-grey: blank.
    assert result == RecognizedText("aa a", pytest.approx(column_probability(1.0), rel=1e-5))


def test_each_crop_gets_its_own_text_in_input_order(tiny_recognizer):
    # Eight crops (two batches of 6 and 2) with different widths, so sorting by aspect ratio reorders them.
    counts = [5, 1, 3, 8, 2, 7, 4, 6]
    crops = [striped_crop([GREEN, BLUE] * count, column_width=6) for count in counts]
    assert [result.text for result in tiny_recognizer(crops)] == ["a" * count for count in counts]


def test_crops_are_stretched_to_height_48_keeping_their_aspect_ratio(tiny_recognizer):
    short = striped_crop([GREEN, RED, GREEN], column_width=12, height=24)  # becomes 48 x 72: stripes of 24
    tall = striped_crop([GREEN, RED, GREEN], column_width=30, height=96)  # becomes 48 x 45
    assert [r.text for r in tiny_recognizer([short, tall])] == ["a a", "a a"]


def test_tensor_crops_read_like_numpy_ones(tiny_recognizer):
    crop = striped_crop([GREEN, BLUE, GREEN], column_width=8)
    rgb = torch.from_numpy(crop[:, :, ::-1].copy()).permute(2, 0, 1)
    bgr_float = torch.from_numpy(crop.copy()).permute(2, 0, 1).float() / 255
    results = tiny_recognizer([rgb]) + tiny_recognizer([bgr_float], input_color_format="bgr")
    assert [r.text for r in results] == ["aa", "aa"]


def test_rejects_parameters(tiny_recognizer):
    with pytest.raises(InvalidParameterError, match="confidence"):
        tiny_recognizer(striped_crop([GREEN]), confidence=0.5)


def test_characters_must_match_the_network(tmp_path):
    package = recognizer_package(tmp_path, characters="a\nb\n")  # 4 classes for a 3-class network
    with pytest.raises(CorruptedModelPackageError, match=r"3 classes but characters\.txt gives 4"):
        PPOCRTextRecognition.from_pretrained(package, ONNX_OPTIONS)


def test_missing_characters_file(tmp_path):
    package = recognizer_package(tmp_path)
    (package / "characters.txt").unlink()
    with pytest.raises(CorruptedModelPackageError, match=r"characters\.txt"):
        PPOCRTextRecognition.from_pretrained(package, ONNX_OPTIONS)


def test_blank_and_padding_only_crop_reads_nothing(tiny_recognizer):
    [result] = tiny_recognizer(np.zeros((48, 20, 3), dtype=np.uint8) + np.array(BLUE, dtype=np.uint8))
    assert result == RecognizedText("", 0.0)
