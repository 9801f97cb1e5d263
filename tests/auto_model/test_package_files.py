"""Strict readers of package files: what they accept, and the error naming the file for what they refuse."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from inference_exp.errors import CorruptedModelPackageError, UnsafePackageContentError
from inference_exp.packages.package_files import (
    CustomCodeModelConfig,
    KeypointsClassMetadata,
    LibraryModelConfig,
    TrtConfig,
    read_class_names,
    read_forward_pass,
    read_keypoints_metadata,
    read_model_config,
    read_torch_weights,
    read_trt_config,
)
from inference_exp.packages.types import BackendType, Quantization


def _json(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_class_names(tmp_path: Path) -> None:
    path = tmp_path / "class_names.txt"
    path.write_text("  bolt \n\nnut\r\nwasher\n")
    assert read_class_names(path) == ("bolt", "nut", "washer")
    path.write_bytes(b"\xff\xfe bad")
    with pytest.raises(CorruptedModelPackageError, match=re.escape("class_names.txt: not UTF-8")):
        read_class_names(path)
    with pytest.raises(CorruptedModelPackageError, match=re.escape("incomplete: missing.txt is missing")):
        read_class_names(tmp_path / "missing.txt")


POSE = [
    {"object_class_id": 1, "keypoints": {"1": "tail", "0": "head"}, "edges": [{"from": 0, "to": 1}]},
    {
        "object_class_id": 0,
        "keypoints": {"0": "nose", "1": "left_eye", "2": "right_eye"},
        "edges": [{"from": 0, "to": 1}, {"from": 0, "to": 2}],
    },
]


def test_keypoints_metadata(tmp_path: Path) -> None:
    parsed = read_keypoints_metadata(_json(tmp_path, "keypoints_metadata.json", POSE), class_count=2)
    assert parsed == (
        KeypointsClassMetadata(0, ("nose", "left_eye", "right_eye"), ((0, 1), (0, 2))),
        KeypointsClassMetadata(1, ("head", "tail"), ((0, 1),)),
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({}, "non-empty JSON list"),
        ([POSE[0]], "object_class_id values must be 0..0"),
        ([{**POSE[1], "keypoints": {"0": "a", "2": "c"}}], "keypoint indices must be 0..1"),
        ([{**POSE[1], "keypoints": {"x": "a"}}], "must map an integer string"),
        ([{**POSE[1], "edges": [{"from": 0, "to": 3}]}], "edge .* below 3"),
        ([{**POSE[1], "object_class_id": "0"}], "non-negative integer"),
        ("[", "not valid JSON"),
    ],
)
def test_keypoints_metadata_errors(tmp_path: Path, content: Any, message: str) -> None:
    path = _json(tmp_path, "keypoints_metadata.json", content)
    with pytest.raises(CorruptedModelPackageError, match=message) as raised:
        read_keypoints_metadata(path)
    assert "keypoints_metadata.json" in str(raised.value)


def test_keypoints_metadata_class_count_mismatch(tmp_path: Path) -> None:
    with pytest.raises(CorruptedModelPackageError, match="describes 2 classes but the model has 3"):
        read_keypoints_metadata(_json(tmp_path, "k.json", POSE), class_count=3)


def test_trt_config(tmp_path: Path) -> None:
    static = read_trt_config(
        _json(tmp_path, "a.json", {"static_batch_size": 4, "dynamic_batch_size_min": None})
    )
    assert static == TrtConfig(static_batch_size=4) and not static.is_dynamic
    dynamic = read_trt_config(
        _json(
            tmp_path,
            "b.json",
            {
                "static_batch_size": None,
                "dynamic_batch_size_min": 1,
                "dynamic_batch_size_opt": 8,
                "dynamic_batch_size_max": 16,
            },
        )
    )
    assert (
        dynamic.dynamic_batch_size_min,
        dynamic.dynamic_batch_size_opt,
        dynamic.dynamic_batch_size_max,
    ) == (1, 8, 16)
    assert dynamic.is_dynamic


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"static_batch_size": 0}, "static_batch_size must be a positive integer"),
        ({"dynamic_batch_size_min": 1, "dynamic_batch_size_max": 4}, "must all be integers"),
        (
            {"dynamic_batch_size_min": 4, "dynamic_batch_size_opt": 2, "dynamic_batch_size_max": 8},
            "1 <= min <= opt <= max",
        ),
        ([1], "must be a JSON object"),
    ],
)
def test_trt_config_errors(tmp_path: Path, content: Any, message: str) -> None:
    with pytest.raises(CorruptedModelPackageError, match=message):
        read_trt_config(_json(tmp_path, "trt_config.json", content))


def test_forward_pass(tmp_path: Path) -> None:
    path = _json(
        tmp_path,
        "inference_config.json",
        {"forward_pass": {"static_batch_size": None, "max_dynamic_batch_size": 16}},
    )
    assert read_forward_pass(path).max_dynamic_batch_size == 16
    assert read_forward_pass(_json(tmp_path, "b.json", {"network_input": {}})).static_batch_size is None
    with pytest.raises(
        CorruptedModelPackageError,
        match=re.escape("forward_pass.static_batch_size must be a positive integer"),
    ):
        read_forward_pass(_json(tmp_path, "c.json", {"forward_pass": {"static_batch_size": -1}}))


def test_model_config_forms(tmp_path: Path) -> None:
    library = read_model_config(
        _json(
            tmp_path,
            "a.json",
            {
                "model_architecture": "yolov8",
                "task_type": "object-detection",
                "backend_type": "hf",
                "quantization": "fp16",
                "model_features": {"nms_fused": {}},
            },
        )
    )
    assert library == LibraryModelConfig(
        "yolov8", "object-detection", BackendType.HUGGING_FACE, Quantization.FP16, {"nms_fused": {}}
    )
    custom = read_model_config(
        _json(tmp_path, "b.json", {"model_module": "code/model.py", "model_class": "MyDetector"})
    )
    assert custom == CustomCodeModelConfig("code/model.py", "MyDetector")


def test_torch_weights(tmp_path: Path) -> None:
    import torch

    torch.save({"w": torch.ones(2)}, tmp_path / "ok.pt")
    assert torch.equal(read_torch_weights(tmp_path / "ok.pt")["w"], torch.ones(2))
    torch.save(
        {"w": torch.ones(2), "config": Quantization}, tmp_path / "pickled.pt"
    )  # a class: needs unpickling
    with pytest.raises(
        UnsafePackageContentError,
        match=re.escape("pickled.pt: the checkpoint contains pickled Python objects"),
    ):
        read_torch_weights(tmp_path / "pickled.pt")
    assert read_torch_weights(tmp_path / "pickled.pt", allow_pickled_weights=True)["config"] is Quantization
    (tmp_path / "garbage.pt").write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CorruptedModelPackageError, match=re.escape("garbage.pt: not a torch checkpoint")):
        read_torch_weights(tmp_path / "garbage.pt")
    with pytest.raises(CorruptedModelPackageError, match=re.escape("incomplete: absent.pt is missing")):
        read_torch_weights(tmp_path / "absent.pt")
