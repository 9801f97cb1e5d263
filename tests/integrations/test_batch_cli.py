"""``inference-exp batch`` end to end: a local Ray instance, two workers, every row against in-process predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.image_folders import BROKEN, make_image_folder

from inference_exp import AutoModel
from inference_exp.entities.per_image import predictions_per_image
from inference_exp.errors import InvalidInputError
from inference_exp.inputs.decode import decode_bytes
from inference_exp.integrations.coco_rle import decode_mask


def _in_process(model, path: Path) -> dict:
    """What running ``model`` here on the file gives: its decode error, or its arrays and size."""
    try:
        image = decode_bytes(path.read_bytes(), item=None, source=str(path))
    except InvalidInputError as error:
        return {"error": f"InvalidInputError: {error.message}"}
    [group] = predictions_per_image(model([image]), 1)
    return {
        "error": None,
        "size": (image.shape[1], image.shape[0]),
        "arrays": [entity.to_numpy() for entity in group],
    }


def _assert_same_detections(row: dict, arrays: dict) -> None:
    assert row["class_id"] == arrays["class_id"].tolist()  # same classes in the same order
    assert row["class_name"] == arrays["class_name"].tolist()
    np.testing.assert_allclose(
        np.array(row["confidence"], dtype=np.float32), arrays["confidence"], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        np.array(row["xyxy"], dtype=np.float32).reshape(-1, 4), arrays["xyxy"], rtol=1e-5, atol=1e-3
    )


def _read_rows(output: Path, output_format: str) -> dict[str, dict]:
    if output_format == "parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(output).to_pylist()
    else:
        files = sorted(output.glob("*.json"))
        assert files, f"no JSON files in {output}"
        rows = [json.loads(line) for file in files for line in file.read_text().splitlines() if line.strip()]
    by_id = {row["image_id"]: row for row in rows}
    assert len(by_id) == len(rows), "an image has several rows"
    return by_id


@pytest.mark.slow
def test_two_workers_match_in_process_predictions_for_every_file(ray_data, run_batch, fixtures_dir, tmp_path):
    files = make_image_folder(tmp_path / "images", fixtures_dir, generated=200)
    weights = fixtures_dir / "random-yolov8n" / "weights.onnx"
    output = tmp_path / "predictions"
    result = run_batch(
        str(weights), str(tmp_path / "images"), "--output", str(output), "--workers", "2", "--batch-size", "8"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    broken = {str(tmp_path / "images" / name) for name in BROKEN}
    assert f"{len(files)} row(s), {len(broken)} error(s) written to {output}" in result.stdout

    rows = _read_rows(output, "parquet")
    assert set(rows) == {str(path) for path in files}  # one row per image file, none for README.txt
    model = AutoModel.from_pretrained(weights)
    found = 0
    for path in files:
        row, expected = rows[str(path)], _in_process(model, path)
        assert row["error"] == expected["error"], path
        if expected["error"] is not None:
            assert str(path) in broken and row["class_id"] is None and row["image_width"] is None
            continue
        assert (row["image_width"], row["image_height"]) == expected["size"]
        [arrays] = expected["arrays"]
        _assert_same_detections(row, arrays)
        assert row["mask_rle"] is None and row["keypoints_xy"] is None
        found += len(row["class_id"])
    assert found > 200, "the generated images should give the random model things to find"
    assert rows[str(tmp_path / "images" / "broken" / "empty.png")]["error"].endswith("empty.png is empty")
    assert "not a decodable image" in rows[str(tmp_path / "images" / "broken" / "truncated.jpg")]["error"]


@pytest.mark.slow
def test_instance_masks_as_json_lines(ray_data, run_batch, fixtures_dir, tmp_path):
    files = make_image_folder(tmp_path / "images", fixtures_dir, generated=4, seed=1)
    weights = fixtures_dir / "random-yolov8n-seg" / "weights.onnx"
    output = tmp_path / "predictions"
    result = run_batch(
        str(weights), str(tmp_path / "images"), "-o", str(output), "--format", "jsonl", "--confidence", "0.5"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _read_rows(output, "jsonl")
    assert set(rows) == {str(path) for path in files}
    model = AutoModel.from_pretrained(weights)
    masks = 0
    for path in files:
        row = rows[str(path)]
        try:
            image = decode_bytes(path.read_bytes(), item=None, source=str(path))
        except InvalidInputError as error:
            assert row["error"] == f"InvalidInputError: {error.message}"
            continue
        [[instances]] = predictions_per_image(model([image], confidence=0.5), 1)
        arrays = instances.to_numpy()
        _assert_same_detections(row, arrays)
        assert len(row["mask_rle"]) == len(instances)
        for rle, mask in zip(row["mask_rle"], arrays["mask"], strict=True):
            assert rle["size"] == list(image.shape[:2])
            np.testing.assert_array_equal(decode_mask(rle), mask)
            masks += 1
    assert masks > 10


@pytest.mark.slow
def test_a_model_that_cannot_load_fails_with_one_line(ray_data, run_batch, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    broken = tmp_path / "model" / "weights.onnx"
    broken.parent.mkdir()
    broken.write_bytes(b"not an onnx file")
    result = run_batch(str(broken), str(tmp_path / "images"), "--output", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Error:" in last and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_help_lists_the_options(run_batch):
    result = run_batch("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: inference-exp batch [OPTIONS] MODEL INPUT_DIR")
    for option in (
        "--output",
        "--workers",
        "--batch-size",
        "--address",
        "--format",
        "--api-key",
        "--backend",
        "--device",
    ):
        assert option in result.stdout


def test_bad_arguments_fail_before_ray_starts(run_batch, tmp_path):
    result = run_batch("some/model/1", str(tmp_path / "missing"), "--output", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: InvalidInputError: '{tmp_path / 'missing'}' is not a directory. "
        "Pass the folder that holds the images."
    ]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.parquet").write_bytes(b"")
    result = run_batch("some/model/1", str(tmp_path), "--output", str(tmp_path / "out"))
    assert result.returncode == 1 and "is not empty" in result.stderr
