"""inference_config.json parsing (model-packages.md §3)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from inference_exp.errors import CorruptedModelPackageError
from inference_exp.packages.inference_config import (
    AnySize,
    NmsPostProcessing,
    PadToBeDivisible,
    SigmoidPostProcessing,
    SoftmaxPostProcessing,
    StaticCrop,
    load_inference_config,
    parse_inference_config,
)

# The example of model-packages.md §3.8.
EXAMPLE: dict[str, Any] = {
    "image_pre_processing": {
        "auto-orient": {"enabled": True},
        "static-crop": {"enabled": True, "x_min": 5, "y_min": 10, "x_max": 95, "y_max": 100},
        "contrast": {"enabled": False, "type": "Contrast Stretching"},
        "grayscale": {"enabled": False},
    },
    "network_input": {
        "training_input_size": {"height": 640, "width": 640},
        "dynamic_spatial_size_supported": True,
        "dynamic_spatial_size_mode": {"type": "pad-to-be-divisible", "value": 32},
        "color_mode": "rgb",
        "resize_mode": "letterbox",
        "padding_value": 127,
        "input_channels": 3,
        "scaling_factor": 255,
        "normalization": None,
    },
    "forward_pass": {"static_batch_size": None, "max_dynamic_batch_size": 16},
    "post_processing": {"type": "nms", "fused": False},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """EXAMPLE with the dotted ``path`` set to ``value`` (``...`` deletes the key)."""
    data = copy.deepcopy(EXAMPLE)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


def test_example_parses_with_dashed_keys():
    config = parse_inference_config(EXAMPLE)
    steps = config.image_pre_processing
    assert steps.auto_orient_enabled
    assert steps.static_crop_enabled and steps.static_crop.x_min == 5 and steps.static_crop.y_max == 100
    assert steps.contrast_type is None  # disabled
    assert not steps.grayscale_enabled
    network = config.network_input
    assert (network.training_input_size.height, network.training_input_size.width) == (640, 640)
    assert network.dynamic_spatial_size_mode == PadToBeDivisible(type="pad-to-be-divisible", value=32)
    assert network.resize_mode == "letterbox" and network.fill_value == 127 and network.scaling_factor == 255
    assert config.forward_pass.max_dynamic_batch_size == 16 and config.forward_pass.static_batch_size is None
    assert isinstance(config.post_processing, NmsPostProcessing) and not config.post_processing.fused


def test_minimal_config_defaults():
    config = parse_inference_config({"network_input": EXAMPLE["network_input"], "image_pre_processing": None})
    assert config.image_pre_processing.auto_orient_enabled  # default on
    assert not config.image_pre_processing.static_crop_enabled
    assert config.forward_pass.static_batch_size is None
    assert config.post_processing is None and config.class_names_operations is None
    assert config.model_initialization is None


def test_unknown_keys_are_ignored_and_model_is_frozen():
    config = parse_inference_config(_with("network_input.something_new", {"x": 1}) | {"extra_top": 1})
    with pytest.raises(ValidationError):
        config.network_input.resize_mode = "stretch"  # type: ignore[misc]


def test_padding_null_means_black_and_color_mode_case():
    config = parse_inference_config(_with("network_input.padding_value", None) | {})
    assert config.network_input.fill_value == 0
    assert parse_inference_config(_with("network_input.color_mode", "BGR")).network_input.color_mode == "bgr"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"type": "nms", "fused": True, "nms_parameters": {"max_detections": 300, "confidence_threshold": 0.25,
          "iou_threshold": 0.45, "class_agnostic": 0}}, NmsPostProcessing),
        ({"type": "softmax", "fused": False}, SoftmaxPostProcessing),
        ({"type": "sigmoid", "fused": True}, SigmoidPostProcessing),
    ],
)
def test_post_processing_is_discriminated_by_type(section, expected):
    config = parse_inference_config(_with("post_processing", section))
    assert type(config.post_processing) is expected
    assert config.post_processing.fused == section["fused"]


def test_any_size_mode_model_initialization_and_class_name_operations():
    data = _with("network_input.dynamic_spatial_size_mode", {"type": "any-size"})
    data["model_initialization"] = {"classes": 3, "in_channels": 3, "encoder_name": "resnet34"}
    data["class_names_operations"] = [{"type": "class_name_removal", "class_name": "background"}]
    config = parse_inference_config(data)
    assert isinstance(config.network_input.dynamic_spatial_size_mode, AnySize)
    assert config.model_initialization == {"classes": 3, "in_channels": 3, "encoder_name": "resnet34"}
    assert config.class_names_operations[0].class_name == "background"


def test_disabled_contrast_with_unknown_type_is_accepted_enabled_is_not():
    assert parse_inference_config(_with("image_pre_processing.contrast", {"enabled": False, "type": "Fancy"}))
    with pytest.raises(CorruptedModelPackageError, match="contrast"):
        parse_inference_config(_with("image_pre_processing.contrast", {"enabled": True, "type": "Fancy"}))
    config = parse_inference_config(
        _with("image_pre_processing.contrast", {"enabled": True, "type": "Histogram Equalization"})
    )
    assert config.image_pre_processing.contrast_type == "Histogram Equalization"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("network_input.input_channels", 1, "network_input.input_channels"),
        ("network_input.input_channels", 4, "network_input.input_channels"),
        ("network_input.resize_mode", "squash", "network_input.resize_mode"),
        ("network_input.color_mode", "hsv", "network_input.color_mode"),
        ("network_input.training_input_size", {"height": 0, "width": 640}, "training_input_size.height"),
        ("network_input.training_input_size", ..., "network_input.training_input_size"),
        ("network_input.dynamic_spatial_size_supported", ..., "dynamic_spatial_size_supported"),
        ("network_input.dynamic_spatial_size_mode", {"type": "divisible-padding", "divisor": 32},
         "dynamic_spatial_size_mode"),
        ("network_input.padding_value", 300, "network_input.padding_value"),
        ("network_input.scaling_factor", 0, "network_input.scaling_factor"),
        ("network_input.normalization", [[0.5, 0.5, 0.5], [0.2, 0.0, 0.2]], "network_input.normalization"),
        ("network_input.normalization", [[0.5, 0.5], [0.2, 0.2]], "network_input.normalization"),
        ("image_pre_processing.static-crop", {"enabled": True, "x_min": 50, "y_min": 0, "x_max": 40, "y_max": 9},
         "static-crop"),
        ("image_pre_processing.static-crop", {"enabled": True, "x_min": 5}, "static-crop"),
        ("image_pre_processing.grayscale", {"enabled": "maybe"}, "grayscale.enabled"),
        ("forward_pass.static_batch_size", 0, "forward_pass.static_batch_size"),
        ("post_processing", {"type": "argmax"}, "post_processing"),
        ("post_processing", {"type": "nms"}, "post_processing.nms.fused"),
        ("network_input", ..., "network_input"),
    ],
)
def test_malformed_sections_name_the_field(path, value, field):
    with pytest.raises(CorruptedModelPackageError) as caught:
        parse_inference_config(_with(path, value), source="pkg/inference_config.json")
    assert "pkg/inference_config.json" in str(caught.value)
    assert field in str(caught.value)


def test_static_crop_window_in_percent():
    crop = StaticCrop(enabled=True, x_min=5, y_min=10, x_max=95, y_max=100)
    assert crop.window(810, 1080) == (40, 108, 769, 1080)  # int(0.05*810)=40, int(0.95*810)=769
    # pixel-looking values are read as percent and clamped to the image
    assert StaticCrop(enabled=True, x_min=10, y_min=10, x_max=630, y_max=470).window(100, 50) == (10, 5, 100, 50)
    # never empty, even on a 1-pixel image
    assert StaticCrop(enabled=True, x_min=5, y_min=5, x_max=95, y_max=95).window(1, 1) == (0, 0, 1, 1)


def test_load_from_file_and_directory(tmp_path: Path):
    (tmp_path / "inference_config.json").write_text(json.dumps(EXAMPLE))
    assert load_inference_config(tmp_path / "inference_config.json") == load_inference_config(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps(_with("network_input.input_channels", 1)), "network_input.input_channels"),
    ],
)
def test_load_errors_name_the_file(tmp_path: Path, content: str, message: str):
    path = tmp_path / "inference_config.json"
    path.write_text(content)
    with pytest.raises(CorruptedModelPackageError) as caught:
        load_inference_config(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_missing_file_is_an_incomplete_package(tmp_path: Path):
    with pytest.raises(CorruptedModelPackageError, match="incomplete"):
        load_inference_config(tmp_path)
