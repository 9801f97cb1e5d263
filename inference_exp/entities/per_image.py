"""Regroup what any model returns into one tuple of predictions per input image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inference_exp.entities.classification import ClassificationPrediction
from inference_exp.errors import ModelRuntimeError


def predictions_per_image(output: Any, image_count: int) -> list[tuple[Any, ...]]:
    """Split a model's output into ``image_count`` tuples of entities, one tuple per image, in input order.

    Handles every return shape of the model families: a list with one entity per image (detections,
    segmentation, multi-label, OCR), a ``(keypoints, detections)`` pair of such lists, and a batched
    :class:`ClassificationPrediction`.

    Raises:
        ModelRuntimeError: the output does not hold one prediction per image.
    """
    if isinstance(output, ClassificationPrediction):
        groups = [(single,) for single in output]
    elif isinstance(output, tuple) and output and all(isinstance(part, Sequence) for part in output):
        if any(len(part) != image_count for part in output):
            raise ModelRuntimeError(f"model returned {[len(p) for p in output]} predictions for {image_count} images")
        groups = list(zip(*output, strict=True))
    elif isinstance(output, Sequence) and not isinstance(output, (str, bytes)):
        groups = [(entity,) for entity in output]
    else:
        groups = [(output,)]
    if len(groups) != image_count:
        raise ModelRuntimeError(f"model returned {len(groups)} predictions for {image_count} images")
    return groups
