"""Package directories built from the shared fixtures, the way the Roboflow weights service lays them out."""

from __future__ import annotations

import json
import os
from pathlib import Path

IMAGES = ("bus.jpg", "zidane.jpg")
WEIGHTS = {"onnx": "weights.onnx", "torch-script": "weights.torchscript"}


def fixture_meta(fixtures_dir: Path, folder: str) -> dict:
    return json.loads((fixtures_dir / folder / "meta.json").read_text())


def build_package(fixtures_dir: Path, folder: str, backend: str, directory: Path, *, weights: Path | None = None,
                  forward_pass: dict | None = None) -> Path:
    """A Roboflow-layout package for a fixture model: the weights (linked), class_names.txt,
    inference_config.json (letterbox 640 / 114 / rgb / 255, or the classify transform for classifiers),
    keypoints_metadata.json for pose models, model_config.json."""
    meta = fixture_meta(fixtures_dir, folder)
    source = fixtures_dir / folder
    directory.mkdir(parents=True)
    os.symlink(weights or source / WEIGHTS[backend], directory / WEIGHTS[backend])
    (directory / "class_names.txt").write_text((source / "class_names.txt").read_text())
    height, width = meta["input_size"]
    classification = meta["task"] == "classification"
    config = {
        "network_input": {
            "training_input_size": {"height": height, "width": width},
            "dynamic_spatial_size_supported": False,
            "color_mode": "rgb",
            "resize_mode": "center-crop" if classification else "letterbox",
            "padding_value": 114,
            "input_channels": 3,
            "scaling_factor": 255,
        },
        "forward_pass": forward_pass or ({"static_batch_size": 1} if backend == "torch-script" else {}),
        "post_processing": {"type": "softmax", "fused": True} if classification else {"type": "nms", "fused": False},
    }
    if classification:
        config["classify_transform"] = "ultralytics"
    (directory / "inference_config.json").write_text(json.dumps(config))
    if "keypoints" in meta:
        keypoints = meta["keypoints"]
        (directory / "keypoints_metadata.json").write_text(json.dumps([{
            "object_class_id": 0,
            "keypoints": {str(i): name for i, name in enumerate(keypoints["names"])},
            "edges": [{"from": a, "to": b} for a, b in keypoints["skeleton"]],
        }]))
    (directory / "model_config.json").write_text(json.dumps({
        "model_architecture": meta["architecture"], "task_type": meta["task"], "backend_type": backend,
    }))
    return directory
