"""The (architecture, task, backend) registry: lazy targets, features, aliases, errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tiny_models import TinyOnnxModel

from inference_exp.errors import InvalidParameterError, ModelImplementationNotFoundError
from inference_exp.models import registry
from inference_exp.packages.types import BackendType

LAZY_MODULE = """
from inference_exp.models.base import Model

class Lazy(Model):
    task = "object-detection"

    @classmethod
    def from_pretrained(cls, package_dir, options):
        return cls()

    @property
    def class_names(self):
        return []

    def infer(self, images, **params):
        return images

class NotAModel:
    pass
"""


@pytest.fixture
def lazy_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An importable ``lazy_family`` module that no test has imported yet (and that is forgotten afterwards)."""
    (tmp_path / "lazy_family.py").write_text(LAZY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("lazy_family", None)
    yield
    sys.modules.pop("lazy_family", None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("YOLO11", "yolov11"),
        ("yolov11", "yolov11"),
        ("yolo-nas", "yolonas"),
        (" RF-DETR ", "rfdetr"),
        ("yolo26", "yolo26"),
    ],
)
def test_architecture_aliases(name: str, expected: str) -> None:
    assert registry.normalise_architecture(name) == expected


@pytest.mark.usefixtures("lazy_family")
def test_string_targets_are_imported_on_first_use() -> None:
    registry.register_model(
        "yolo11", "object-detection", "onnx", "lazy_family:Lazy", supported_features=["nms_fused"]
    )
    assert "lazy_family" not in sys.modules
    assert registry.has_implementation("yolov11", "Object-Detection", BackendType.ONNX)
    assert registry.has_implementation("yolov11", "object-detection", "onnx", features=["nms_fused"])
    assert not registry.has_implementation("yolov11", "object-detection", "onnx", features=["resolution"])
    assert not registry.has_implementation("yolov11", "object-detection", "trt")
    assert "lazy_family" not in sys.modules
    model_class = registry.resolve_model_class("YOLO11", "object-detection", "onnx")
    assert model_class.__name__ == "Lazy" and "lazy_family" in sys.modules


def test_required_features() -> None:
    registry.register_model(
        "doctr", "structured-ocr", "torch", TinyOnnxModel, required_features=["doctr_vocab_127"]
    )
    entry = registry.registry_entry("doctr", "structured-ocr", "torch")
    assert entry.feature_problem([]) == "lacks required model features: doctr_vocab_127"
    assert entry.feature_problem(["doctr_vocab_127"]) is None
    assert (
        entry.feature_problem(["doctr_vocab_127", "nms_fused"])
        == "declares model features it does not support: nms_fused"
    )


def test_unregister_and_read_only_view() -> None:
    registry.register_model("x", "classification", "onnx", TinyOnnxModel)
    view = registry.registered_models()
    assert view[("x", "classification", BackendType.ONNX)].target is TinyOnnxModel
    with pytest.raises(TypeError):
        view[("y", "classification", BackendType.ONNX)] = view[("x", "classification", BackendType.ONNX)]  # type: ignore[index]
    registry.unregister_model("x", "classification", "onnx")
    assert registry.registry_entry("x", "classification", "onnx") is None


@pytest.mark.parametrize("target", ["no_colon", ":Cls", "module:", 42, dict])
def test_bad_targets(target: object) -> None:
    with pytest.raises(InvalidParameterError):
        registry.register_model("x", "classification", "onnx", target)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (None, "has no implementation of architecture 'missing'"),
        ("inference_exp.models.no_such_family:Cls", "cannot be imported"),
        ("lazy_family:NotAModel", "is not a Model subclass"),
        ("lazy_family:Absent", "is not a Model subclass"),
    ],
)
@pytest.mark.usefixtures("lazy_family")
def test_resolution_errors(target: str | None, message: str) -> None:
    if target is not None:
        registry.register_model("missing", "classification", "onnx", target)
    with pytest.raises(ModelImplementationNotFoundError, match=message):
        registry.resolve_model_class("missing", "classification", "onnx")
