"""Greedy CTC decoding of a recogniser's per-step class probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from inference_exp.entities.ocr import RecognizedText
from inference_exp.errors import ModelRuntimeError
from inference_exp.models.ppocr.package import CTC_BLANK_INDEX

if TYPE_CHECKING:
    import torch


def ctc_greedy_decode(
    probabilities: np.ndarray | torch.Tensor, characters: Sequence[str], *, blank: int = CTC_BLANK_INDEX
) -> list[RecognizedText]:
    """Decode ``(B, T, C)`` per-step probabilities into one text per row.

    At every step the most probable class is taken; a class repeated on consecutive steps counts once, and
    blanks are dropped (a blank between two equal classes therefore keeps both). The confidence is the mean
    probability of the kept steps (0.0 when nothing is kept).

    Args:
        probabilities: ``(B, T, C)`` probabilities (softmax outputs), numpy or torch.
        characters: the text of each class, index = class id (``C`` entries).
        blank: the index of the CTC blank.

    Raises:
        ModelRuntimeError: the probabilities are not ``(B, T, C)`` with ``C == len(characters)``.
    """
    if probabilities.ndim != 3 or probabilities.shape[-1] != len(characters):
        raise ModelRuntimeError(
            f"The recogniser returned shape {tuple(probabilities.shape)}; expected (batch, steps, {len(characters)}) "
            f"for its {len(characters)} character classes.",
            hint="Check that the package's characters.txt belongs to these weights.",
        )
    if isinstance(probabilities, np.ndarray):
        best, classes = probabilities.max(axis=-1), probabilities.argmax(axis=-1)
    else:
        values, indices = probabilities.max(dim=-1)
        best, classes = values.float().cpu().numpy(), indices.cpu().numpy()
    results = []
    for row_classes, row_best in zip(classes, best, strict=True):
        kept = row_classes != blank
        kept[1:] &= row_classes[1:] != row_classes[:-1]
        text = "".join(characters[index] for index in row_classes[kept].tolist())
        confidence = float(row_best[kept].mean()) if kept.any() else 0.0
        results.append(RecognizedText(text=text, confidence=confidence))
    return results
