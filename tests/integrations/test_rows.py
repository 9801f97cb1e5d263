"""Prediction rows: every supported prediction type, error rows, and the Arrow schema."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from inference_exp.entities import (
    ClassificationPrediction,
    Detections,
    Embeddings,
    InstanceDetections,
    KeyPoints,
    MultiLabelClassificationPrediction,
)
from inference_exp.entities.ocr import OCRResult, TextDetections
from inference_exp.errors import InvalidInputError, ModelRuntimeError
from inference_exp.integrations.coco_rle import decode_mask
from inference_exp.integrations.rows import (
    COLUMNS,
    OBJECT_COLUMNS,
    arrow_schema,
    error_reason,
    error_row,
    prediction_row,
    rows_to_table,
)

NAMES = ["cat", "dog", "bird"]
BOXES = [[1.5, 2.25, 10.0, 20.0], [0.0, 0.0, 4.0, 3.0]]


def _detections(cls: type = Detections, **extra) -> Detections:
    return cls(
        xyxy=torch.tensor(BOXES),
        class_id=torch.tensor([2, 0]),
        confidence=torch.tensor([0.9, 0.3]),
        class_names=NAMES,
        **extra,
    )


def _row(*entities, top_k: int = 5) -> dict:
    return prediction_row("img-1", entities, image_size=(32, 24), top_k=top_k)


def _not_applicable(row: dict, *filled: str) -> None:
    """Every prediction column except ``filled`` is null."""
    for name in COLUMNS[4:]:
        if name not in filled:
            assert row[name] is None, name


def test_detections():
    row = _row(_detections())
    assert row["image_id"] == "img-1" and row["error"] is None
    assert (row["image_width"], row["image_height"]) == (32, 24)
    assert row["class_id"] == [2, 0] and row["class_name"] == ["bird", "cat"]
    np.testing.assert_allclose(row["confidence"], [0.9, 0.3], rtol=1e-6)
    assert row["xyxy"] == BOXES
    _not_applicable(row, "class_id", "class_name", "confidence", "xyxy")


def test_nothing_found_is_empty_lists_not_nulls():
    empty = Detections(
        xyxy=torch.zeros((0, 4)), class_id=torch.zeros(0, dtype=torch.int64), confidence=torch.zeros(0)
    )
    row = _row(empty)
    assert row["class_id"] == [] and row["xyxy"] == [] and row["confidence"] == []
    assert row["mask_rle"] is None


def test_instance_masks_become_coco_rle_at_image_size():
    masks = torch.zeros((2, 24, 32), dtype=torch.bool)
    masks[0, 2:20, 1:10] = True
    masks[1, 0, 0] = True
    row = _row(_detections(InstanceDetections, mask=masks))
    assert len(row["mask_rle"]) == 2
    for rle, mask in zip(row["mask_rle"], masks.numpy(), strict=True):
        assert rle["size"] == [24, 32] and isinstance(rle["counts"], str)
        np.testing.assert_array_equal(decode_mask(rle), mask)
    assert row["class_id"] == [2, 0]


def test_pose_keypoints_with_their_detections():
    xy = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2) + 0.5
    keypoints = KeyPoints(
        xy=xy,
        confidence=torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]),
        class_id=torch.tensor([2, 0]),
        class_names=NAMES,
    )
    row = _row(keypoints, _detections())
    assert row["keypoints_xy"] == xy.tolist()
    np.testing.assert_allclose(row["keypoints_confidence"], [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], rtol=1e-6)
    assert row["class_id"] == [2, 0] and row["xyxy"] == BOXES
    np.testing.assert_allclose(row["confidence"], [0.9, 0.3], rtol=1e-6)


def test_keypoints_alone_have_classes_but_no_scores():
    keypoints = KeyPoints(
        xy=torch.ones((1, 2, 2)), confidence=torch.ones((1, 2)), class_id=torch.tensor([1]), class_names=NAMES
    )
    row = _row(keypoints)
    assert row["class_name"] == ["dog"] and row["confidence"] is None and row["xyxy"] is None


def test_classification_top_k():
    probabilities = torch.tensor([[0.1, 0.6, 0.3]])
    prediction = ClassificationPrediction(
        class_id=torch.tensor([1]),
        confidence=torch.tensor([0.6]),
        probabilities=probabilities,
        class_names=NAMES,
    )
    row = _row(prediction, top_k=2)
    assert row["class_id"] == [1] and row["class_name"] == ["dog"]
    np.testing.assert_allclose(row["confidence"], [0.6], rtol=1e-6)
    assert row["top_class_id"] == [1, 2] and row["top_class_name"] == ["dog", "bird"]
    np.testing.assert_allclose(row["top_confidence"], [0.6, 0.3], rtol=1e-6)
    _not_applicable(
        row, "class_id", "class_name", "confidence", "top_class_id", "top_class_name", "top_confidence"
    )


def test_multi_label_classification():
    prediction = MultiLabelClassificationPrediction(
        class_ids=torch.tensor([0, 2]),
        confidence=torch.tensor([0.7, 0.8]),
        probabilities=torch.tensor([0.7, 0.1, 0.8]),
        class_names=NAMES,
    )
    row = _row(prediction)
    assert row["class_id"] == [0, 2] and row["class_name"] == ["cat", "bird"]
    assert row["top_class_id"] is None


def test_text_regions_and_ocr_lines():
    polygons = torch.tensor(
        [
            [[1.0, 2.0], [10.0, 2.0], [10.0, 20.0], [1.0, 20.0]],
            [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]],
        ]
    )
    regions = _row(_detections(TextDetections, polygons=polygons))
    assert regions["polygon"] == polygons.tolist() and regions["xyxy"] == BOXES
    ocr = OCRResult(
        polygons=polygons,
        xyxy=torch.tensor(BOXES),
        texts=["hello", "wörld"],
        confidence=torch.tensor([0.9, 0.8]),
        detection_confidence=torch.tensor([0.7, 0.6]),
    )
    row = _row(ocr)
    assert row["text"] == ["hello", "wörld"] and row["polygon"] == polygons.tolist()
    assert row["class_id"] is None


def test_unsupported_and_inconsistent_predictions_raise():
    with pytest.raises(ModelRuntimeError, match="no layout for Embeddings"):
        _row(Embeddings(embeddings=torch.zeros((1, 4))))
    three = KeyPoints(
        xy=torch.zeros((3, 1, 2)), confidence=torch.zeros((3, 1)), class_id=torch.zeros(3, dtype=torch.int64)
    )
    with pytest.raises(ModelRuntimeError, match="two different 'class_id'"):
        _row(three, _detections())
    three_same_classes = KeyPoints(
        xy=torch.zeros((1, 1, 2)), confidence=torch.zeros((1, 1)), class_id=torch.tensor([2])
    )
    with pytest.raises(ModelRuntimeError, match="two different"):
        _row(three_same_classes, _detections())


def test_object_columns_must_agree_in_length():
    keypoints = KeyPoints(
        xy=torch.zeros((1, 1, 2)),
        confidence=torch.zeros((1, 1)),
        class_id=torch.tensor([2]),
        class_names=NAMES,
    )
    detections = Detections(
        xyxy=torch.zeros((1, 4)), class_id=torch.tensor([2]), confidence=torch.ones(1), class_names=NAMES
    )
    assert _row(keypoints, detections)["class_id"] == [2]
    bad = {"class_id": [1, 2], "xyxy": [[0, 0, 1, 1]]}
    with pytest.raises(ModelRuntimeError, match="different numbers of objects"):
        prediction_row("x", [_FakeEntity(bad)], image_size=(1, 1))


class _FakeEntity(Detections):
    """Detections whose arrays disagree in length (impossible through the constructor checks)."""

    def __init__(self, columns: dict) -> None:
        self.columns = columns

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {
            "class_id": np.array(self.columns["class_id"]),
            "class_name": np.array(["a"] * len(self.columns["class_id"]), dtype=object),
            "confidence": np.ones(len(self.columns["class_id"]), dtype=np.float32),
            "xyxy": np.array(self.columns["xyxy"], dtype=np.float32),
        }


def test_error_rows_carry_the_reason_without_the_generic_hint():
    error = InvalidInputError("/data/a.jpg is empty")
    row = error_row("/data/a.jpg", error)
    assert row["error"] == "InvalidInputError: /data/a.jpg is empty"
    assert row["image_id"] == "/data/a.jpg"
    assert all(row[name] is None for name in COLUMNS if name not in ("image_id", "error"))
    assert error_reason(RuntimeError("line one\nline two")) == "RuntimeError: line one; line two"
    assert error_reason(RuntimeError()) == "RuntimeError"


def test_arrow_table_round_trip_and_schema():
    pa = pytest.importorskip("pyarrow")
    masks = torch.zeros((2, 24, 32), dtype=torch.bool)
    masks[1, 3:5, 3:9] = True
    rows = [
        _row(_detections(InstanceDetections, mask=masks)),
        error_row("bad", InvalidInputError("bad is empty")),
    ]
    table = rows_to_table(rows)
    assert table.schema.names == list(COLUMNS) == arrow_schema().names
    assert set(OBJECT_COLUMNS) <= set(COLUMNS)
    assert table.schema.field("confidence").type == pa.list_(pa.float32())
    back = table.to_pylist()
    assert back[1]["error"] == "InvalidInputError: bad is empty" and back[1]["class_id"] is None
    assert back[0]["class_id"] == [2, 0] and back[0]["xyxy"] == BOXES
    np.testing.assert_array_equal(decode_mask(back[0]["mask_rle"][1]), masks[1].numpy())
    json.dumps(back)  # plain Python values only
