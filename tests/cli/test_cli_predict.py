"""``inference-exp predict`` through the real console script: summaries, JSON lines, annotated output, failures."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.tiny_yolo import WHITE, write_package

from inference_exp import AutoModel

# One anchor-free head with 3 anchors and 2 classes: rows cx, cy, w, h, score(cat), score(dog).
HEAD = np.array(
    [
        [20.0, 40.0, 50.0],
        [20.0, 40.0, 10.0],
        [10.0, 16.0, 8.0],
        [10.0, 16.0, 8.0],
        [0.90, 0.05, 0.10],
        [0.10, 0.80, 0.20],
    ],
    dtype=np.float32,
)


@pytest.fixture
def tiny_package(tmp_path: Path) -> Path:
    return write_package(tmp_path / "tiny", [HEAD], architecture="yolov8", task="object-detection", class_names=["cat", "dog"])


@pytest.fixture
def white_images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    (folder / "nested").mkdir(parents=True)
    cv2.imwrite(str(folder / "a.png"), WHITE)
    cv2.imwrite(str(folder / "nested" / "b.png"), WHITE)
    return folder


def test_summary_json_and_annotated_output_match_the_library(run_cli, tiny_package, white_images, tmp_path):
    summary = run_cli("predict", str(tiny_package), str(white_images))
    assert summary.returncode == 0, summary.stderr
    lines = summary.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(white_images / "a.png"), str(white_images / "nested" / "b.png")]
    assert "2 detection(s): cat 0.90 [15,15,25,25], dog 0.80 [32,32,48,48]" in lines[0]

    out = tmp_path / "out"
    result = run_cli("predict", str(tiny_package), str(white_images / "a.png"), "--json", "--confidence", "0.85", "--out", str(out))
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    expected = AutoModel.from_pretrained(tiny_package)(WHITE, confidence=0.85)[0].to_dict()
    assert record["predictions"] == [{"type": "Detections", **json.loads(json.dumps(expected))}]
    assert [d["class_name"] for d in record["predictions"][0]["detections"]] == ["cat"]
    assert json.loads((out / "predictions.json").read_text()) == [record]
    annotated = cv2.imread(str(out / "a.jpg"))
    assert annotated.shape == WHITE.shape
    assert np.abs(annotated.astype(int) - 255).max() > 100  # something was drawn


def test_unreadable_images_are_reported_skipped_and_fail_the_run(run_cli, tiny_package, white_images):
    (white_images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = run_cli("predict", str(tiny_package), str(white_images))
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 2  # the two good images were still processed
    assert "broken.png: skipped:" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: InvalidInputError: 1 of 3 image(s) could not be read (see above). "
        "Fix or remove those files; the other images were processed."
    )


def test_unknown_parameter_for_the_model_is_a_clear_error(run_cli, tmp_path, white_images):
    classifier = write_package(
        tmp_path / "cls",
        [np.array([0.2, 0.8], np.float32)],
        architecture="yolov8",
        task="classification",
        class_names=["a", "b"],
        config=None,
    )
    config = json.loads((classifier / "inference_config.json").read_text())
    config["post_processing"] = {"type": "softmax", "fused": True}
    (classifier / "inference_config.json").write_text(json.dumps(config))
    ok = run_cli("predict", str(classifier), str(white_images / "a.png"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().endswith("a.png: b 0.800, a 0.200")
    bad = run_cli("predict", str(classifier), str(white_images / "a.png"), "--iou", "0.5")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: InvalidParameterError: Unknown parameter 'iou_threshold'.")


def test_missing_model_offline(run_cli, white_images):
    result = run_cli("predict", "acme/absent/1", str(white_images), env={"OFFLINE_MODE": "true"})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: OfflineModelNotCachedError: OFFLINE_MODE is on and model 'acme/absent/1'")


def test_yolov8n_fixture_matches_its_reference(run_cli, fixtures_dir: Path):
    result = run_cli("predict", str(fixtures_dir / "random-yolov8n" / "weights.onnx"), str(fixtures_dir / "images" / "bus.jpg"), "--json")
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    ours = record["predictions"][0]["detections"]
    reference = json.loads((fixtures_dir / "references" / "random-yolov8n" / "bus.jpg.json").read_text())["detections"]
    assert [d["class_id"] for d in ours] == [d["class_id"] for d in reference]
    assert max(abs(a - b) for o, r in zip(ours, reference, strict=True) for a, b in zip(o["xyxy"], r["xyxy"], strict=True)) <= 0.05
