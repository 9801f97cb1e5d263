"""Fuzz: malformed package manifests, model_config.json and inference_config.json files give typed errors or
rejection reasons, never another exception type (hypothesis mutates valid documents and invents odd ones)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from inference_exp.errors import InferenceExpError
from inference_exp.negotiation import NegotiationDecision, evaluate_packages
from inference_exp.packages.inference_config import InferenceConfig, load_inference_config
from inference_exp.packages.manifests import ModelMetadata, parse_model_metadata
from inference_exp.runtime.environment import GpuDevice, RuntimeEnvironment
from inference_exp.weights_providers.local import local_model_source

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MACHINE = RuntimeEnvironment(
    gpus=(GpuDevice("nvidia-l4", "8.9"),),
    cuda_version="12.8",
    trt_version="10.12.0.36",
    trt_python_package_available=True,
    onnxruntime_version="1.22.0",
    onnx_execution_providers=("CUDAExecutionProvider", "CPUExecutionProvider"),
    torch_version="2.6.0",
    torch_cuda_available=True,
)

VALID_PACKAGES = [
    {
        "type": "external-model-package-v1",
        "packageId": "onnx1",
        "trustedSource": True,
        "packageManifest": {"type": "onnx-model-package-v1", "quantization": "fp32", "opset": 17, "dynamicBatchSize": True},
        "packageFiles": [{"fileHandle": "weights.onnx", "downloadUrl": "https://x.test/w", "md5Hash": "0" * 32}],
    },
    {
        "type": "external-model-package-v1",
        "packageId": "trt1",
        "trustedSource": True,
        "packageManifest": {
            "type": "trt-model-package-v1", "dynamicBatchSize": True, "minBatchSize": 1, "optBatchSize": 4,
            "maxBatchSize": 8, "quantization": "fp16", "cudaDeviceType": "nvidia-l4", "cudaDeviceCC": "8.9",
            "cudaVersion": "12.6", "trtVersion": "10.12.0.36", "machineType": "gpu-server",
            "machineSpecs": {"type": "gpu-server-specs-v1", "driverVersion": "550.54.15", "osVersion": "ubuntu-22.04"},
        },
        "packageFiles": [{"fileHandle": "engine.plan", "downloadUrl": "https://x.test/e", "md5Hash": "1" * 32}],
    },
    {
        "type": "external-model-package-v1",
        "packageId": "ts1",
        "packageManifest": {
            "type": "torch-script-model-package-v1", "dynamicBatchSize": False, "staticBatchSize": 1,
            "quantization": "fp32", "supportedDeviceTypes": ["cpu", "cuda"], "torchVersion": "2.4.0",
        },
        "modelFeatures": {"nms_fused": {"max_detections": 300}},
        "packageFiles": [],
    },
]
VALID_INFERENCE_CONFIG = {
    "image_pre_processing": {"static-crop": {"enabled": True, "x_min": 5, "y_min": 10, "x_max": 95, "y_max": 100}},
    "network_input": {
        "training_input_size": {"height": 640, "width": 640},
        "dynamic_spatial_size_supported": True,
        "dynamic_spatial_size_mode": {"type": "pad-to-be-divisible", "value": 32},
        "color_mode": "rgb",
        "resize_mode": "letterbox",
        "padding_value": 114,
        "input_channels": 3,
        "scaling_factor": 255,
        "normalization": [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]],
    },
    "forward_pass": {"static_batch_size": None, "max_dynamic_batch_size": 8},
    "post_processing": {"type": "nms", "fused": False},
}
VALID_MODEL_CONFIG = {"model_architecture": "yolov8", "task_type": "object-detection", "backend_type": "onnx"}

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["../../etc/passwd", "/abs", "a\\b", "CON", "", "fp64", "int4", "10.x", "nan", "-1", "\x00"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(document: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a nested JSON document (dict keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """``original`` with a few key paths deleted, replaced by odd values, or given extra odd keys."""
    document = copy.deepcopy(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "extra"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(odd_values)
        else:
            parent[path[-1]] = draw(odd_values)
    return document


def typed_outcome(call: Any) -> Any:
    """``call()``'s result, or the :class:`InferenceExpError` it raised (checked to carry a message); any other
    exception propagates and fails the test."""
    try:
        result = call()
    except InferenceExpError as error:
        assert error.message.strip(), f"{type(error).__name__} without a message"
        event(f"typed error: {type(error).__name__}")
        return error
    event(f"result: {type(result).__name__}")
    return result


def _json_safe(document: Any) -> Any:
    """NaN/infinity become strings so that the document is valid JSON text too."""
    if isinstance(document, float) and not math.isfinite(document):
        return str(document)
    if isinstance(document, dict):
        return {key: _json_safe(value) for key, value in document.items()}
    if isinstance(document, list):
        return [_json_safe(value) for value in document]
    return document


@FUZZ
@given(packages=st.lists(st.one_of(*(mutated(p) for p in VALID_PACKAGES), odd_values), min_size=1, max_size=4))
def test_malformed_packages_become_rejections(packages: list[Any]) -> None:
    page = {"modelMetadata": {"type": "external-model-metadata-v1", "modelId": "m/1", "modelArchitecture": "yolov8",
                              "taskType": "object-detection", "modelPackages": packages}}
    metadata = typed_outcome(lambda: parse_model_metadata(page))
    if isinstance(metadata, InferenceExpError):
        return
    assert isinstance(metadata, ModelMetadata)
    decision = evaluate_packages(metadata, environment=MACHINE)
    assert len(decision.verdicts) == len(metadata.packages) + len(metadata.unusable_packages)
    for verdict in decision.verdicts:
        assert verdict.verdict.value in ("chosen", "candidate") or verdict.reasons
    event(f"usable packages: {len(decision.candidates)}, rejected: {len(decision.rejections)}")


@FUZZ
@given(page=st.one_of(odd_values, mutated({"modelMetadata": {"type": "external-model-metadata-v1", "modelId": "m/1",
                                                             "modelArchitecture": "yolov8", "modelPackages": VALID_PACKAGES}})))
def test_malformed_metadata_pages_raise_typed_errors(page: Any) -> None:
    assert isinstance(typed_outcome(lambda: parse_model_metadata(page)), (ModelMetadata, InferenceExpError))


@FUZZ
@given(document=st.one_of(mutated(VALID_INFERENCE_CONFIG), odd_values), raw=st.booleans())
def test_malformed_inference_configs_raise_typed_errors(tmp_path_factory, document: Any, raw: bool) -> None:
    path = tmp_path_factory.mktemp("config") / "inference_config.json"
    path.write_text(json.dumps(_json_safe(document)) if not raw else json.dumps(_json_safe(document))[:-3])
    assert isinstance(typed_outcome(lambda: load_inference_config(path)), (InferenceConfig, InferenceExpError))


@FUZZ
@given(document=st.one_of(mutated(VALID_MODEL_CONFIG), mutated({"model_module": "model.py", "model_class": "M"}), odd_values))
def test_malformed_model_configs_raise_typed_errors(tmp_path_factory, document: Any) -> None:
    directory: Path = tmp_path_factory.mktemp("package")
    (directory / "model_config.json").write_text(json.dumps(_json_safe(document)))
    decision = typed_outcome(lambda: evaluate_packages(local_model_source(directory).metadata, environment=MACHINE))
    assert isinstance(decision, (NegotiationDecision, InferenceExpError))


def test_a_manifest_type_that_is_not_a_string_is_a_rejection() -> None:
    """Found by the fuzz test above: an unhashable manifest type used to raise TypeError."""
    from inference_exp.packages.manifests import UnusablePackage, parse_model_package

    for odd_type in ([], {}, None, 7):
        raw = {**VALID_PACKAGES[0], "packageManifest": {**VALID_PACKAGES[0]["packageManifest"], "type": odd_type}}
        parsed = parse_model_package(raw, 0)
        assert isinstance(parsed, UnusablePackage)
        assert parsed.package_id == "onnx1" and "no type string" in parsed.reason
