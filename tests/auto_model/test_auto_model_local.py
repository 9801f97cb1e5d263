"""AutoModel on local package directories: negotiation, explanations, safety switches, typed errors."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from tiny_models import (
    TinyOnnxModel,
    TinyTorchModel,
    custom_code_package,
    onnx_package,
    torch_package,
    write_config,
)

from inference_exp.auto_model import AutoModel
from inference_exp.errors import (
    CorruptedModelPackageError,
    ModelLoadingError,
    NoModelPackagesAvailableError,
    OfflineModelNotCachedError,
    UnknownBackendTypeError,
    UnsafePackageContentError,
)
from inference_exp.negotiation import NegotiationDecision, Verdict
from inference_exp.packages.types import BackendType
from inference_exp.runtime.environment import RuntimeEnvironment


def test_loads_a_library_package_through_negotiation(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    directory = onnx_package(tmp_path / "pkg")
    model = AutoModel.from_pretrained(directory, environment=cpu_machine, custom_option=7)
    assert isinstance(model, TinyOnnxModel)
    assert list(model.class_names) == ["cat", "dog"]  # the blank line takes no id
    np.testing.assert_allclose(model.infer([[1.0, 2.0, 3.0]]), [[2.0, 4.0, 6.0]])
    # how it was chosen, and with which options
    assert isinstance(model.negotiation, NegotiationDecision)
    assert model.negotiation.chosen.package_id == "local"
    assert model.loaded_package.backend == "onnx"
    assert model.loaded_package.package_dir == directory.absolute()
    assert model.options.backend is BackendType.ONNX
    assert model.options.device == "cpu"
    assert model.options.extra == {"custom_option": 7}
    assert model.options.allow_pickled_weights is False


def test_string_paths_and_explicit_backend(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    directory = onnx_package(tmp_path / "pkg")
    model = AutoModel.from_pretrained(str(directory), backend=["onnx"], device="cpu", environment=cpu_machine)
    assert model.loaded_package.package_id == "local"


def test_requested_backend_that_does_not_match_is_a_rejection(
    tmp_path: Path, cpu_machine: RuntimeEnvironment
) -> None:
    directory = onnx_package(tmp_path / "pkg")
    with pytest.raises(NoModelPackagesAvailableError) as raised:
        AutoModel.from_pretrained(directory, backend="torch", environment=cpu_machine)
    assert raised.value.rejections == {"local": ["backend onnx was not requested (backend=torch)"]}
    with pytest.raises(UnknownBackendTypeError):
        AutoModel.from_pretrained(directory, backend="tflite", environment=cpu_machine)


def test_local_facts_take_part_in_negotiation(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    directory = onnx_package(tmp_path / "pkg", quantization="fp16")
    (directory / "inference_config.json").write_text(json.dumps({"forward_pass": {"static_batch_size": 2}}))
    decision = AutoModel.describe_model(directory, batch_size=4, environment=cpu_machine)
    reasons = decision.rejections["local"]
    assert any("static batch size of 2, requested batch_size=4" in r for r in reasons)
    assert any("quantization fp16 is not among the defaults for device cpu" in r for r in reasons)
    model = AutoModel.from_pretrained(directory, batch_size=2, quantization="fp16", environment=cpu_machine)
    assert model.negotiation.verdicts[0].batch == "static 2"


def test_runtime_missing_for_a_local_package(tmp_path: Path) -> None:
    directory = onnx_package(tmp_path / "pkg")
    with pytest.raises(NoModelPackagesAvailableError) as raised:
        AutoModel.from_pretrained(directory, environment=RuntimeEnvironment(torch_version="2.13.0"))
    assert raised.value.suggested_extras == ["onnx-cpu"]


def test_describe_model_shows_every_package_with_decision_and_reasons(
    tmp_path: Path, cpu_machine: RuntimeEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = onnx_package(tmp_path / "pkg")
    decision = AutoModel.describe_model(directory, environment=cpu_machine, print_table=True)
    assert decision.verdict_for("local").verdict is Verdict.CHOSEN
    printed = capsys.readouterr().out
    assert "tinynet, classification" in printed
    assert "local" in printed and "chosen" in printed

    rejected = AutoModel.describe_model(directory, backend="torch", environment=cpu_machine)
    assert rejected.candidates == ()
    assert rejected.verdict_for("local").verdict is Verdict.REJECTED
    assert "      - backend onnx was not requested (backend=torch)" in str(rejected)


def test_verbose_logs_the_decision(
    tmp_path: Path, cpu_machine: RuntimeEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    directory = onnx_package(tmp_path / "pkg")
    with caplog.at_level(logging.INFO, logger="inference_exp.verbose"):
        AutoModel.from_pretrained(directory, verbose=True, environment=cpu_machine)
    text = caplog.text
    assert "1 usable of 1 package(s)" in text
    assert "Loaded package local (onnx)" in text


# --- safety switches -----------------------------------------------------------------------------------------------


def test_custom_code_needs_permission(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    directory = custom_code_package(tmp_path / "custom")
    with pytest.raises(UnsafePackageContentError, match="allow_local_code_packages=True"):
        AutoModel.from_pretrained(directory, environment=cpu_machine)
    model = AutoModel.from_pretrained(directory, allow_local_code_packages=True, environment=cpu_machine)
    assert model("x") == "custom:x"
    assert model.loaded_package.backend == "custom"
    # describing never runs the package's code
    assert AutoModel.describe_model(directory, environment=cpu_machine).chosen.package_id == "local"


def test_custom_code_is_still_negotiated(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    directory = custom_code_package(tmp_path / "custom")
    with pytest.raises(NoModelPackagesAvailableError, match="backend custom was not requested"):
        AutoModel.from_pretrained(
            directory, backend="onnx", allow_local_code_packages=True, environment=cpu_machine
        )


def test_custom_code_must_stay_inside_the_package(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    (tmp_path / "evil.py").write_text("raise SystemExit('must never run')\n")
    directory = custom_code_package(tmp_path / "custom", module="../evil.py")
    with pytest.raises(UnsafePackageContentError, match="points outside the package directory"):
        AutoModel.from_pretrained(directory, allow_local_code_packages=True, environment=cpu_machine)


def test_pickled_weights_need_permission(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    safe = AutoModel.from_pretrained(torch_package(tmp_path / "safe"), environment=cpu_machine)
    assert isinstance(safe, TinyTorchModel) and float(safe.infer(2.0)) == 6.0

    pickled = torch_package(tmp_path / "pickled", pickled=True)
    with pytest.raises(UnsafePackageContentError, match="allow_pickled_weights=True"):
        AutoModel.from_pretrained(pickled, environment=cpu_machine)
    model = AutoModel.from_pretrained(pickled, allow_pickled_weights=True, environment=cpu_machine)
    assert model.state["extra"].value == 1.5
    assert model.options.allow_pickled_weights is True


# --- typed errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "model_config.json: not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"model_architecture": "tinynet", "backend_type": "onnx"}), "lacks task_type"),
        (
            json.dumps(
                {"model_architecture": "tinynet", "task_type": "classification", "backend_type": "tflite"}
            ),
            "Unknown backend 'tflite'",
        ),
        (
            json.dumps(
                {
                    "model_architecture": "tinynet",
                    "task_type": "classification",
                    "backend_type": "onnx",
                    "quantization": "q4",
                }
            ),
            "Unknown quantization 'q4'",
        ),
        (
            json.dumps({"model_module": "model.py", "model_class": "not a name"}),
            "model_class must be a Python class name",
        ),
        (json.dumps({"model_module": "model.txt", "model_class": "Custom"}), "must name a .py file"),
    ],
)
def test_malformed_model_config_is_a_typed_error(
    tmp_path: Path, cpu_machine: RuntimeEnvironment, content: str, message: str
) -> None:
    directory = onnx_package(tmp_path / "pkg")
    (directory / "model_config.json").write_text(content)
    with pytest.raises(CorruptedModelPackageError, match=message) as raised:
        AutoModel.from_pretrained(directory, environment=cpu_machine)
    assert str(directory / "model_config.json") in str(raised.value)


def test_missing_package_file_is_a_corrupted_package(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    directory = onnx_package(tmp_path / "pkg", class_names=None)
    with pytest.raises(CorruptedModelPackageError, match=re.escape("class_names.txt is missing")):
        AutoModel.from_pretrained(directory, environment=cpu_machine)


def test_empty_class_names_is_a_corrupted_package(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    directory = onnx_package(tmp_path / "pkg", class_names="\n \n")
    with pytest.raises(CorruptedModelPackageError, match="lists no class names"):
        AutoModel.from_pretrained(directory, environment=cpu_machine)


def test_directory_without_model_config(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    with pytest.raises(CorruptedModelPackageError, match=re.escape("has no model_config.json")):
        AutoModel.from_pretrained(tmp_path, environment=cpu_machine)


def test_unknown_architecture_is_rejected_by_negotiation(
    tmp_path: Path, cpu_machine: RuntimeEnvironment
) -> None:
    write_config(tmp_path, model_architecture="mystery", task_type="classification", backend_type="onnx")
    with pytest.raises(NoModelPackagesAvailableError, match="no onnx implementation of mystery"):
        AutoModel.from_pretrained(tmp_path, environment=cpu_machine)


def test_model_id_that_is_not_a_path_goes_to_the_weights_provider(
    cpu_machine: RuntimeEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFLINE_MODE", "true")  # the provider is asked, but without touching the network
    with pytest.raises(OfflineModelNotCachedError, match="'acme/parts/4' is not in the local cache"):
        AutoModel.from_pretrained("acme/parts/4", environment=cpu_machine)


def test_bare_file_without_a_resolver(tmp_path: Path, cpu_machine: RuntimeEnvironment) -> None:
    export = tmp_path / "model.onnx"
    export.write_bytes(b"\x08\x01")
    with pytest.raises(ModelLoadingError, match="no loader recognises this file"):
        AutoModel.from_pretrained(export, environment=cpu_machine)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_package_loading_attempts": 0}, "max_package_loading_attempts"),
        ({"allow_local_code_packages": "yes"}, "allow_local_code_packages"),
        ({"device": "gpu"}, "device 'gpu'"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, cpu_machine: RuntimeEnvironment, arguments: dict, message: str
) -> None:
    directory = onnx_package(tmp_path / "pkg")
    with pytest.raises(ValueError, match=message):
        AutoModel.from_pretrained(directory, environment=cpu_machine, **arguments)
