"""The candidate loop (ranked packages tried in order) through a provider-shaped source, and path resolvers."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import ARCHITECTURE, TASK, TinyOnnxModel, onnx_package, torch_package

from inference_exp import auto_model
from inference_exp.auto_model import AutoModel
from inference_exp.errors import (
    CorruptedModelPackageError,
    ModelPackageAlternativesExhaustedError,
    UnsafePackageContentError,
)
from inference_exp.packages.manifests import ModelMetadata, ModelPackage
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.weights_providers import ModelSource, registry_class_resolver
from inference_exp.weights_providers import local as local_provider


def _package(package_id: str, manifest: dict) -> ModelPackage:
    return ModelPackage.model_validate(
        {"packageId": package_id, "packageManifest": manifest, "packageFiles": [], "trustedSource": True}
    )


def _remote_source(tmp_path: Path, broken: set[str], materialised: list[str]) -> ModelSource:
    """A source shaped like the Roboflow one: torch package first (default order), then ONNX."""
    metadata = ModelMetadata(
        model_id="acme/tiny/1",
        model_architecture=ARCHITECTURE,
        task_type=TASK,
        packages=(
            _package(
                "onnxpkg",
                {
                    "type": "onnx-model-package-v1",
                    "quantization": "fp32",
                    "opset": 17,
                    "dynamicBatchSize": True,
                },
            ),
            _package(
                "torchpkg",
                {"type": "torch-model-package-v1", "quantization": "fp32", "dynamicBatchSize": True},
            ),
        ),
    )

    def materialise(package: ModelPackage) -> Path:
        materialised.append(package.package_id)
        directory = tmp_path / package.package_id
        if package.package_id == "onnxpkg":
            onnx_package(directory, class_names=None if "onnxpkg" in broken else "a\n")
        else:
            torch_package(directory, pickled="torchpkg" in broken)
        return directory

    return ModelSource(
        metadata=metadata, materialise=materialise, model_class=registry_class_resolver(metadata)
    )


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    state: dict = {"broken": set(), "materialised": []}
    monkeypatch.setattr(
        auto_model,
        "roboflow_model_source",
        lambda model_id, **_: _remote_source(tmp_path, state["broken"], state["materialised"]),
    )
    return state


def test_first_ranked_candidate_is_loaded(provider: dict, cpu_machine: RuntimeEnvironment) -> None:
    model = AutoModel.from_pretrained("acme/tiny/1", environment=cpu_machine)
    assert model.loaded_package.package_id == "torchpkg"
    assert provider["materialised"] == ["torchpkg"]
    assert model.loaded_package.failed_before == {}


def test_falls_back_to_the_next_candidate(
    provider: dict, cpu_machine: RuntimeEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    provider["broken"].add("torchpkg")
    model = AutoModel.from_pretrained("acme/tiny/1", environment=cpu_machine)
    assert isinstance(model, TinyOnnxModel)
    assert provider["materialised"] == ["torchpkg", "onnxpkg"]
    assert "UnsafePackageContentError" in model.loaded_package.failed_before["torchpkg"]
    assert "Falling back from torch package torchpkg to onnx package onnxpkg" in caplog.text


def test_all_candidates_failing(provider: dict, cpu_machine: RuntimeEnvironment) -> None:
    provider["broken"].update({"torchpkg", "onnxpkg"})
    with pytest.raises(ModelPackageAlternativesExhaustedError) as raised:
        AutoModel.from_pretrained("acme/tiny/1", environment=cpu_machine)
    assert set(raised.value.errors) == {"torchpkg", "onnxpkg"}
    assert isinstance(raised.value.errors["onnxpkg"], CorruptedModelPackageError)
    assert "torchpkg: UnsafePackageContentError" in str(raised.value)


def test_max_package_loading_attempts(provider: dict, cpu_machine: RuntimeEnvironment) -> None:
    provider["broken"].add("torchpkg")
    with pytest.raises(UnsafePackageContentError, match="allow_pickled_weights=True"):
        AutoModel.from_pretrained("acme/tiny/1", max_package_loading_attempts=1, environment=cpu_machine)
    assert provider["materialised"] == ["torchpkg"]


def test_describe_model_downloads_nothing(provider: dict, cpu_machine: RuntimeEnvironment) -> None:
    decision = AutoModel.describe_model("acme/tiny/1", backend=["onnx", "torch"], environment=cpu_machine)
    assert [p.package_id for p in decision.candidates] == ["onnxpkg", "torchpkg"]
    assert provider["materialised"] == []


def test_path_resolvers_extend_local_loading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpu_machine: RuntimeEnvironment
) -> None:
    package_dir = onnx_package(tmp_path / "exported")
    export = package_dir / "weights.onnx"

    def bare_onnx(path: Path, *, allow_local_code_packages: bool) -> ModelSource | None:
        if path.suffix != ".onnx":
            return None
        return local_provider.package_directory_source(
            path.parent, allow_local_code_packages=allow_local_code_packages
        )

    monkeypatch.setattr(local_provider, "_path_resolvers", list(local_provider._path_resolvers))
    local_provider.register_path_resolver(bare_onnx)
    model = AutoModel.from_pretrained(export, environment=cpu_machine)
    assert isinstance(model, TinyOnnxModel)
    local_provider.unregister_path_resolver(bare_onnx)
    assert bare_onnx not in local_provider._path_resolvers
