"""Request parsing, the decision object, errors and the opset table."""

from __future__ import annotations

import pytest
from negotiation_builders import (
    CPU_BOX,
    CPU_WITHOUT_ONNXRUNTIME,
    L4_SERVER,
    TWO_GPU_SERVER,
    metadata,
    onnx,
    torch_package,
    trt,
    unusable,
)

from inference_exp.errors import (
    AmbiguousModelPackageResolutionError,
    InvalidParameterError,
    InvalidRequestedBatchSizeError,
    NoModelPackagesAvailableError,
    UnknownBackendTypeError,
    UnknownQuantizationError,
)
from inference_exp.negotiation import NegotiationRequest, Verdict, evaluate_packages, negotiate
from inference_exp.negotiation.onnx_opsets import max_supported_opset
from inference_exp.packages.types import BackendType, Quantization

# --- request parsing ---------------------------------------------------------------------------------------------


def test_request_normalises_values() -> None:
    class FakeTorchDevice:  # what torch.device looks like, without importing torch
        type, index = "cuda", 1

        def __str__(self) -> str:
            return "cuda:1"

    request = NegotiationRequest.from_arguments(
        backend=["HF", BackendType.ONNX, "onnx"],
        batch_size=4,
        quantization="FP16",
        device=FakeTorchDevice(),
        onnx_execution_providers=["CUDAExecutionProvider", ("CPUExecutionProvider", {"x": 1})],
        nms_fusion_preferences={"iou_threshold": [0.7, 0.3], "class_agnostic": True},
    )
    assert request.backends == (BackendType.HUGGING_FACE, BackendType.ONNX)
    assert request.batch_size == (4, 4)
    assert request.quantizations == (Quantization.FP16,)
    assert request.device == "cuda:1"
    assert request.onnx_execution_providers == ("CUDAExecutionProvider", ("CPUExecutionProvider", {"x": 1}))
    assert dict(request.nms_fusion_preferences) == {"iou_threshold": (0.3, 0.7), "class_agnostic": True}
    assert NegotiationRequest.from_arguments(batch_size=(2, 8)).batch_size == (2, 8)
    assert NegotiationRequest.from_arguments(quantization=[]).quantizations == ()
    assert NegotiationRequest.from_arguments(device=" CPU:0 ").device == "cpu"


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"backend": "tensorflow"}, UnknownBackendTypeError),
        ({"backend": []}, InvalidParameterError),
        ({"backend": 3}, UnknownBackendTypeError),
        ({"quantization": "int4"}, UnknownQuantizationError),
        ({"quantization": ["fp16", "FP64"]}, UnknownQuantizationError),
        ({"batch_size": 0}, InvalidRequestedBatchSizeError),
        ({"batch_size": True}, InvalidRequestedBatchSizeError),
        ({"batch_size": (8, 2)}, InvalidRequestedBatchSizeError),
        ({"batch_size": (1, 2, 3)}, InvalidRequestedBatchSizeError),
        ({"batch_size": "4"}, InvalidRequestedBatchSizeError),
        ({"device": "gpu"}, InvalidParameterError),
        ({"device": "cuda:x"}, InvalidParameterError),
        ({"device": 0}, InvalidParameterError),
        ({"onnx_execution_providers": [("CPUExecutionProvider",)]}, InvalidParameterError),
        ({"onnx_execution_providers": [1]}, InvalidParameterError),
        ({"onnx_execution_providers": []}, InvalidParameterError),
        ({"nms_fusion_preferences": {"iou": 0.5}}, InvalidParameterError),
        ({"nms_fusion_preferences": {"iou_threshold": "high"}}, InvalidParameterError),
        ({"nms_fusion_preferences": {"class_agnostic": 1}}, InvalidParameterError),
        ({"nms_fusion_preferences": "yes"}, InvalidParameterError),
        ({"allow_untrusted_packages": "yes"}, InvalidParameterError),
        ({"model_package_id": ""}, InvalidParameterError),
    ],
)
def test_bad_request_values_raise_typed_errors(arguments: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        NegotiationRequest.from_arguments(**arguments)


def test_typed_errors_are_invalid_parameter_errors() -> None:
    for error in (UnknownBackendTypeError, UnknownQuantizationError, InvalidRequestedBatchSizeError):
        assert issubclass(error, InvalidParameterError)


# --- errors --------------------------------------------------------------------------------------------------------


def test_nothing_fits_raises_with_every_reason_and_the_extra_to_install() -> None:
    packages = metadata(onnx("a"), onnx("b", opset=18), torch_package("t", quantization="fp16"))
    with pytest.raises(NoModelPackagesAvailableError) as raised:
        negotiate(
            packages,
            NegotiationRequest.from_arguments(backend=["onnx", "torch"]),
            environment=CPU_WITHOUT_ONNXRUNTIME,
        )
    error = raised.value
    assert error.model_id == "acme/parts/4"
    assert set(error.rejections) == {"a", "b", "t"}
    assert error.suggested_extras == ["onnx-cpu"]
    text = str(error)
    assert "2 packages: onnxruntime is not installed" in text
    assert "1 package: quantization fp16 is not among the defaults for device cpu" in text
    assert "pip install 'inference-exp[onnx-cpu]'" in text


def test_extras_are_suggested_only_when_they_alone_would_help() -> None:
    decision = evaluate_packages(metadata(trt("e"), onnx("a")), environment=CPU_WITHOUT_ONNXRUNTIME)
    # the engine would still need a GPU and fp16 on CPU; ONNX would work once onnxruntime is installed
    assert decision.suggested_extras == ("onnx-cpu",)
    assert decision.verdict_for("e").extras == ()


def test_empty_model_raises() -> None:
    with pytest.raises(NoModelPackagesAvailableError, match="has no packages"):
        negotiate(metadata(), environment=CPU_BOX)


def test_ambiguous_package_id() -> None:
    with pytest.raises(AmbiguousModelPackageResolutionError, match="matches 2 packages"):
        evaluate_packages(
            metadata(onnx("a"), onnx("a", opset=18)),
            NegotiationRequest(model_package_id="a"),
            environment=CPU_BOX,
        )


def test_device_index_beyond_the_machine() -> None:
    with pytest.raises(InvalidParameterError, match="this machine has 2 CUDA GPU"):
        evaluate_packages(metadata(trt("e")), NegotiationRequest(device="cuda:2"), environment=TWO_GPU_SERVER)


def test_default_device_comes_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_DEVICE", "cpu")
    decision = evaluate_packages(metadata(trt("e", quantization="fp32"), onnx("a")), environment=L4_SERVER)
    assert decision.device == "cpu"
    assert decision.chosen.package_id == "a"
    monkeypatch.delenv("DEFAULT_DEVICE")
    assert evaluate_packages(metadata(trt("e")), environment=L4_SERVER).device == "cuda"


# --- the decision object ----------------------------------------------------------------------------------------


def test_describe_lists_every_package_with_its_decision_and_reasons() -> None:
    decision = evaluate_packages(
        metadata(
            onnx("a"),
            torch_package("t"),
            onnx("u", trusted=False),
            unusable("bad", "malformed package: opset missing"),
        ),
        NegotiationRequest.from_arguments(backend=["onnx", "torch"]),
        environment=CPU_BOX,
    )
    assert decision.chosen.package_id == "a"
    assert [v.verdict for v in decision.verdicts] == [
        Verdict.CHOSEN,
        Verdict.CANDIDATE,
        Verdict.REJECTED,
        Verdict.REJECTED,
    ]
    table = str(decision)
    lines = table.splitlines()
    assert "acme/parts/4" in lines[0] and "device cpu" in lines[0] and "backend=onnx,torch" in lines[0]
    row = {line.split()[1]: line.split() for line in lines if line[:1] in "1234-" and len(line.split()) > 5}
    assert row["a"][0] == "1" and row["a"][-1] == "chosen"
    assert row["t"][0] == "2" and row["t"][-1] == "candidate"
    assert row["u"][0] == "-" and row["u"][-1] == "rejected"
    assert row["bad"][-1] == "rejected" and row["bad"][2] == "?"
    assert "      - package is not from a trusted source" in table
    assert "      - malformed package: opset missing" in table
    assert decision.rejections == {
        "u": [
            "package is not from a trusted source; pass allow_untrusted_packages=True if you trust its publisher"
        ],
        "bad": ["malformed package: opset missing"],
    }


# --- opset table ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.15.1", 19),
        ("1.17.3", 20),
        ("1.20.0", 21),
        ("1.22.0", 23),
        ("1.23.2", 23),
        ("1.32.0", 23),
        ("2.0.0", 23),
        ("1.9.0", None),
        ("nightly", None),
    ],
)
def test_max_supported_opset(version: str, expected: int | None) -> None:
    assert max_supported_opset(version) == expected


def test_onnxruntime_older_than_the_table_is_explained() -> None:
    from dataclasses import replace

    decision = evaluate_packages(
        metadata(onnx("a")), environment=replace(CPU_BOX, onnxruntime_version="1.8.0")
    )
    assert "older than 1.10" in decision.rejections["a"][0]
