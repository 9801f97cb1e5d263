"""Per-call post-processing parameters: gen B names, gen A aliases, defaults, validation."""

from __future__ import annotations

import pytest

from inference_exp.errors import InvalidParameterError
from inference_exp.models.tasks import (
    CLASS_AGNOSTIC_NMS,
    CONFIDENCE,
    IOU_THRESHOLD,
    KEY_POINTS_THRESHOLD,
    MAX_DETECTIONS,
    resolve_parameters,
)

DETECTION = (CONFIDENCE, IOU_THRESHOLD, MAX_DETECTIONS, CLASS_AGNOSTIC_NMS)


def test_defaults_match_the_references() -> None:
    assert resolve_parameters({}, DETECTION) == {
        "confidence": 0.25,
        "iou_threshold": 0.45,
        "max_detections": 100,
        "class_agnostic_nms": False,
    }
    assert resolve_parameters({}, (KEY_POINTS_THRESHOLD,)) == {"key_points_threshold": 0.0}


def test_gen_b_names_and_gen_a_aliases_set_the_same_values() -> None:
    gen_b = resolve_parameters(
        {"confidence": 0.5, "iou_threshold": 0.6, "max_detections": 7, "class_agnostic_nms": True}, DETECTION
    )
    gen_a = resolve_parameters(
        {"conf_thresh": 0.5, "iou_thresh": 0.6, "max_detections": 7, "class_agnostic": True}, DETECTION
    )
    assert gen_a == gen_b == {"confidence": 0.5, "iou_threshold": 0.6, "max_detections": 7, "class_agnostic_nms": True}


def test_none_and_default_mean_the_default() -> None:
    assert resolve_parameters({"confidence": None, "iou_thresh": "default"}, DETECTION)["confidence"] == 0.25
    assert resolve_parameters({"iou_thresh": "default"}, DETECTION)["iou_threshold"] == 0.45


def test_unknown_keyword_names_the_accepted_ones() -> None:
    with pytest.raises(InvalidParameterError) as raised:
        resolve_parameters({"conf": 0.3}, DETECTION)
    text = str(raised.value)
    assert "'conf'" in text
    for name in ("confidence (alias conf_thresh)", "iou_threshold (alias iou_thresh)", "max_detections",
                 "class_agnostic_nms (alias class_agnostic)", "input_color_format", "image_size"):
        assert name in text


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="conf_thresh"):
        resolve_parameters({"confidence": 0.3, "conf_thresh": 0.4}, DETECTION)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("confidence", 1.5),
        ("confidence", -0.1),
        ("confidence", True),
        ("confidence", "high"),
        ("iou_thresh", 2),
        ("max_detections", 0),
        ("max_detections", 2.5),
        ("max_detections", True),
        ("class_agnostic_nms", 1),
        ("class_agnostic", "yes"),
    ],
)
def test_out_of_range_values_are_typed_errors(keyword: str, value: object) -> None:
    with pytest.raises(InvalidParameterError, match=keyword):
        resolve_parameters({keyword: value}, DETECTION)


def test_bounds_are_inclusive() -> None:
    values = resolve_parameters({"confidence": 0, "iou_threshold": 1, "max_detections": 1}, DETECTION)
    assert (values["confidence"], values["iou_threshold"], values["max_detections"]) == (0.0, 1.0, 1)
