"""ModelPredictor (called here, without Ray) on the real fixture exports: rows against the models' own outputs."""

from __future__ import annotations

import numpy as np
import pytest

from inference_exp.entities import ClassificationPrediction, Detections, InstanceDetections, KeyPoints
from inference_exp.entities.per_image import predictions_per_image
from inference_exp.integrations.coco_rle import decode_mask
from inference_exp.integrations.ray import ModelPredictor

IMAGES = ("bus.jpg", "zidane.jpg")


@pytest.fixture(scope="module")
def batch(fixtures_dir):
    pa = pytest.importorskip("pyarrow")
    payloads = [(fixtures_dir / "images" / name).read_bytes() for name in IMAGES]
    return pa.table({"bytes": [*payloads, b""], "path": [*IMAGES, "empty.jpg"]})


def _predict(fixtures_dir, folder: str, batch) -> tuple[list[dict], list[tuple]]:
    """The predictor's rows of bus.jpg and zidane.jpg, and its model's own predictions of them."""
    import cv2

    predictor = ModelPredictor(fixtures_dir / folder / "weights.onnx", top_k=3)
    rows = predictor(batch).to_pylist()
    assert rows[2]["image_id"] == "empty.jpg" and rows[2]["error"] == "InvalidInputError: empty.jpg is empty"
    images = [cv2.imread(str(fixtures_dir / "images" / name)) for name in IMAGES]
    groups = [predictions_per_image(predictor.model([image]), 1)[0] for image in images]
    return rows[:2], groups


def _same_boxes(row: dict, detections: Detections) -> None:
    arrays = detections.to_numpy()
    assert len(arrays["class_id"]) > 0
    assert (
        row["class_id"] == arrays["class_id"].tolist() and row["class_name"] == arrays["class_name"].tolist()
    )
    np.testing.assert_allclose(row["confidence"], arrays["confidence"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(row["xyxy"], arrays["xyxy"], rtol=1e-5, atol=1e-3)


def test_instance_segmentation(fixtures_dir, batch):
    rows, groups = _predict(fixtures_dir, "random-yolov8n-seg", batch)
    for row, (instances,) in zip(rows, groups, strict=True):
        assert isinstance(instances, InstanceDetections)
        _same_boxes(row, instances)
        masks = instances.to_numpy()["mask"]
        for rle, mask in zip(row["mask_rle"], masks, strict=True):
            np.testing.assert_array_equal(decode_mask(rle), mask)
        assert (row["image_height"], row["image_width"]) == masks.shape[1:]


def test_pose(fixtures_dir, batch):
    rows, groups = _predict(fixtures_dir, "random-yolov8n-pose", batch)
    for row, (keypoints, detections) in zip(rows, groups, strict=True):
        assert isinstance(keypoints, KeyPoints)
        _same_boxes(row, detections)
        arrays = keypoints.to_numpy()
        np.testing.assert_allclose(row["keypoints_xy"], arrays["xy"], rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(row["keypoints_confidence"], arrays["confidence"], rtol=1e-5, atol=1e-6)
        assert np.array(row["keypoints_xy"]).shape[1:] == (17, 2)


def test_classification(fixtures_dir, batch):
    rows, groups = _predict(fixtures_dir, "random-yolov8n-cls", batch)
    for row, (prediction,) in zip(rows, groups, strict=True):
        assert isinstance(prediction, ClassificationPrediction)
        [ranked] = prediction.top_k(3)
        assert row["top_class_id"] == [c for c, _, _ in ranked] and row["top_class_name"] == [
            n for _, n, _ in ranked
        ]
        np.testing.assert_allclose(row["top_confidence"], [p for _, _, p in ranked], rtol=1e-5)
        assert row["class_id"] == prediction.class_id.tolist() and row["xyxy"] is None
