"""Flat, serialisable prediction rows: one row per image, the same columns for every model.

Batch jobs (:mod:`inference_exp.integrations.ray`, ``inference-exp batch``) write these rows as Parquet or
JSON lines. Per-object columns hold one entry per detected object (or predicted class), in the model's order; a
column that does not apply to the model is null, an image where nothing was found has empty lists.

| column | type | content |
|---|---|---|
| ``image_id`` | string | the image's id (the file path for image folders) |
| ``error`` | string | null, or why the image has no predictions (``"InvalidInputError: … is empty"``) |
| ``image_width``, ``image_height`` | int32 | size of the decoded image (null on error) |
| ``class_id`` | list<int64> | class of each object; for classification the predicted class(es) |
| ``class_name`` | list<string> | name of each of those classes |
| ``confidence`` | list<float32> | score of each object / predicted class |
| ``xyxy`` | list<list<float32>> | box of each object: ``x1, y1, x2, y2`` in original-image pixels |
| ``mask_rle`` | list<struct<size: list<int64>, counts: string>> | instance masks as COCO RLE (:mod:`.coco_rle`) |
| ``keypoints_xy`` | list<list<list<float32>>> | per object, ``(x, y)`` of each keypoint slot |
| ``keypoints_confidence`` | list<list<float32>> | per object, the confidence of each keypoint slot |
| ``top_class_id``, ``top_class_name``, ``top_confidence`` | lists | single-label classification: the ``top_k`` most probable classes, most probable first |
| ``polygon`` | list<list<list<float32>>> | text regions / OCR lines: four ``(x, y)`` corners, clockwise from top-left |
| ``text`` | list<string> | OCR: the text of each line |

Supported predictions: :class:`~inference_exp.entities.Detections` (and its instance-mask and text-region
subclasses), :class:`~inference_exp.entities.KeyPoints` (alone or with the detections of the same objects),
:class:`~inference_exp.entities.ClassificationPrediction`,
:class:`~inference_exp.entities.MultiLabelClassificationPrediction` and
:class:`~inference_exp.entities.ocr.OCRResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from inference_exp.entities import (
    ClassificationPrediction,
    Detections,
    KeyPoints,
    MultiLabelClassificationPrediction,
)
from inference_exp.entities.ocr import OCRResult
from inference_exp.errors import InferenceExpError, ModelRuntimeError
from inference_exp.integrations.coco_rle import encode_mask
from inference_exp.utils.imports import require

#: Columns with one entry per object of the image (they must all have the same length).
OBJECT_COLUMNS = (
    "class_id",
    "class_name",
    "confidence",
    "xyxy",
    "mask_rle",
    "keypoints_xy",
    "keypoints_confidence",
    "polygon",
    "text",
)
#: Every column of a row, in order.
COLUMNS = (
    "image_id",
    "error",
    "image_width",
    "image_height",
    *OBJECT_COLUMNS[:7],
    "top_class_id",
    "top_class_name",
    "top_confidence",
    *OBJECT_COLUMNS[7:],
)


def prediction_row(
    image_id: str, group: Sequence[Any], *, image_size: tuple[int, int], top_k: int = 5
) -> dict[str, Any]:
    """The row of one image from its predictions (one tuple of :func:`predictions_per_image`).

    Args:
        image_id: the image's id.
        group: the entities the model returned for this image.
        image_size: ``(width, height)`` of the decoded image.
        top_k: how many classes the ``top_*`` columns of classification rows hold.

    Raises:
        ModelRuntimeError: a prediction type has no row layout, or two predictions of the image disagree.
    """
    row = _empty_row(image_id)
    row["image_width"], row["image_height"] = (int(v) for v in image_size)
    for entity in group:
        for name, values in _entity_columns(entity, top_k).items():
            if row[name] is not None and row[name] != values:
                raise ModelRuntimeError(
                    f"the model returned two different '{name}' values for image {image_id!r}",
                    hint="Report this model output layout to the inference-exp maintainers.",
                )
            row[name] = values
    lengths = {name: len(row[name]) for name in OBJECT_COLUMNS if row[name] is not None}
    if len(set(lengths.values())) > 1:
        raise ModelRuntimeError(
            f"the predictions of image {image_id!r} describe different numbers of objects: {lengths}",
            hint="Report this model output layout to the inference-exp maintainers.",
        )
    return row


def error_row(image_id: str, error: BaseException) -> dict[str, Any]:
    """The row of an image that could not be read or predicted: every column null except ``image_id`` and
    ``error`` (see :func:`error_reason`)."""
    row = _empty_row(image_id)
    row["error"] = error_reason(error)
    return row


def error_reason(error: BaseException) -> str:
    """``"<ErrorType>: <what happened>"`` on one line (without the library's generic hint)."""
    text = error.message if isinstance(error, InferenceExpError) else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(error).__name__}: {'; '.join(lines)}" if lines else type(error).__name__


def arrow_schema() -> Any:
    """The ``pyarrow.Schema`` of the rows (needs ``pyarrow``, installed with the ``ray`` extra)."""
    pa = require("pyarrow", needed_for="Writing prediction rows", extra="ray")
    f32 = pa.float32()
    names = pa.list_(pa.string())
    return pa.schema(
        [
            ("image_id", pa.string()),
            ("error", pa.string()),
            ("image_width", pa.int32()),
            ("image_height", pa.int32()),
            ("class_id", pa.list_(pa.int64())),
            ("class_name", names),
            ("confidence", pa.list_(f32)),
            ("xyxy", pa.list_(pa.list_(f32))),
            ("mask_rle", pa.list_(pa.struct([("size", pa.list_(pa.int64())), ("counts", pa.string())]))),
            ("keypoints_xy", pa.list_(pa.list_(pa.list_(f32)))),
            ("keypoints_confidence", pa.list_(pa.list_(f32))),
            ("top_class_id", pa.list_(pa.int64())),
            ("top_class_name", names),
            ("top_confidence", pa.list_(f32)),
            ("polygon", pa.list_(pa.list_(pa.list_(f32)))),
            ("text", names),
        ]
    )


def rows_to_table(rows: Sequence[dict[str, Any]]) -> Any:
    """The rows as a ``pyarrow.Table`` with :func:`arrow_schema`."""
    pa = require("pyarrow", needed_for="Writing prediction rows", extra="ray")
    return pa.Table.from_pylist(list(rows), schema=arrow_schema())


def _empty_row(image_id: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row["image_id"] = image_id
    return row


def _names(values: np.ndarray) -> list[str]:
    return [str(name) for name in values]


def _entity_columns(entity: Any, top_k: int) -> dict[str, Any]:
    """The columns one prediction of one image fills."""
    if isinstance(entity, ClassificationPrediction):
        [ranked] = entity.top_k(top_k)
        return {
            "class_id": [ranked[0][0]],
            "class_name": [ranked[0][1]],
            "confidence": [ranked[0][2]],
            "top_class_id": [c for c, _, _ in ranked],
            "top_class_name": [n for _, n, _ in ranked],
            "top_confidence": [p for _, _, p in ranked],
        }
    if isinstance(entity, MultiLabelClassificationPrediction):
        arrays = entity.to_numpy()
        return {
            "class_id": arrays["class_ids"].tolist(),
            "class_name": _names(arrays["class_name"]),
            "confidence": arrays["confidence"].tolist(),
        }
    if isinstance(entity, KeyPoints):
        arrays = entity.to_numpy()
        return {
            "class_id": arrays["class_id"].tolist(),
            "class_name": _names(arrays["class_name"]),
            "keypoints_xy": arrays["xy"].tolist(),
            "keypoints_confidence": arrays["confidence"].tolist(),
        }
    if isinstance(entity, OCRResult):
        arrays = entity.to_numpy()
        return {
            "confidence": arrays["confidence"].tolist(),
            "xyxy": arrays["xyxy"].tolist(),
            "polygon": arrays["polygons"].tolist(),
            "text": _names(arrays["text"]),
        }
    if isinstance(entity, Detections):  # also InstanceDetections (mask) and TextDetections (polygons)
        arrays = entity.to_numpy()
        columns = {
            "class_id": arrays["class_id"].tolist(),
            "class_name": _names(arrays["class_name"]),
            "confidence": arrays["confidence"].tolist(),
            "xyxy": arrays["xyxy"].tolist(),
        }
        if "mask" in arrays:
            columns["mask_rle"] = [encode_mask(mask) for mask in arrays["mask"]]
        if "polygons" in arrays:
            columns["polygon"] = arrays["polygons"].tolist()
        return columns
    raise ModelRuntimeError(
        f"prediction rows have no layout for {type(entity).__name__} predictions",
        hint="Batch jobs support detections, instance masks, keypoints, classification and OCR; "
        "run this model in-process instead.",
    )
