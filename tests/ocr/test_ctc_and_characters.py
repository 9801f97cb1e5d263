"""Greedy CTC decoding on synthetic probability sequences, and the character dictionary file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_exp.errors import CorruptedModelPackageError, ModelRuntimeError
from inference_exp.models.ppocr.ctc import ctc_greedy_decode
from inference_exp.models.ppocr.package import read_characters

CLASSES = ("", "a", "b", "c", " ")  # blank, dictionary "abc", space


def _sequence(steps: list[tuple[int, float]]) -> np.ndarray:
    """``(T, C)`` probabilities where step ``t`` gives ``p`` to class ``k`` and shares the rest evenly."""
    probabilities = np.zeros((len(steps), len(CLASSES)), dtype=np.float32)
    for t, (k, p) in enumerate(steps):
        probabilities[t] = (1 - p) / (len(CLASSES) - 1)
        probabilities[t, k] = p
    return probabilities


def test_repeats_merge_blanks_separate_and_confidence_is_the_mean_of_kept_steps():
    steps = [(0, 0.9), (1, 0.8), (1, 0.6), (0, 0.7), (1, 0.5), (2, 0.9), (4, 0.95), (3, 0.7), (3, 0.99), (0, 0.9)]
    [result] = ctc_greedy_decode(_sequence(steps)[None], CLASSES)
    # a (steps 1-2 merged), blank, a, b, space, c (steps 7-8 merged); kept: the first step of each run.
    assert result.text == "aab c"
    assert result.confidence == pytest.approx(np.mean([0.8, 0.5, 0.9, 0.95, 0.7]), rel=1e-6)


def test_all_blank_decodes_to_empty_text_with_zero_confidence():
    [result] = ctc_greedy_decode(_sequence([(0, 0.99)] * 5)[None], CLASSES)
    assert result.text == "" and result.confidence == 0.0


def test_batch_rows_decode_independently_and_torch_matches_numpy():
    batch = np.stack([_sequence([(1, 0.9), (0, 0.9), (2, 0.9)]), _sequence([(3, 0.6), (3, 0.9), (3, 0.7)])])
    from_numpy = ctc_greedy_decode(batch, CLASSES)
    from_torch = ctc_greedy_decode(torch.from_numpy(batch), CLASSES)
    assert [r.text for r in from_numpy] == ["ab", "c"]
    assert from_numpy == from_torch
    assert from_numpy[1].confidence == pytest.approx(0.6)


def test_class_count_must_match_the_characters():
    with pytest.raises(ModelRuntimeError, match=r"characters\.txt"):
        ctc_greedy_decode(np.zeros((1, 4, 7), dtype=np.float32), CLASSES)
    with pytest.raises(ModelRuntimeError):
        ctc_greedy_decode(np.zeros((4, 5), dtype=np.float32), CLASSES)


def test_characters_file_adds_blank_first_and_space_last(tmp_path):
    path = tmp_path / "characters.txt"
    path.write_bytes("a\nb\r\n\u3000\n中\n".encode())
    assert read_characters(path) == ("", "a", "b", "\u3000", "中", " ")  # whitespace characters are kept
    path.write_text("x")  # no final newline
    assert read_characters(path) == ("", "x", " ")


@pytest.mark.parametrize("content", ["", "a\n\nb\n"])
def test_characters_file_without_characters_or_with_an_empty_line_is_corrupted(tmp_path, content):
    path = tmp_path / "characters.txt"
    path.write_text(content)
    with pytest.raises(CorruptedModelPackageError, match=r"characters\.txt"):
        read_characters(path)


def test_missing_characters_file_is_corrupted(tmp_path):
    with pytest.raises(CorruptedModelPackageError, match="incomplete"):
        read_characters(tmp_path / "characters.txt")
