"""Registers the tiny test families and pins an imaginary CPU machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tiny_models import ARCHITECTURE, TASK, TinyOnnxModel, TinyTorchModel

from inference_exp.models import registry
from inference_exp.runtime.environment import RuntimeEnvironment

CPU_MACHINE = RuntimeEnvironment(
    onnxruntime_version="1.32.0",
    onnx_execution_providers=("CPUExecutionProvider",),
    torch_version="2.13.0",
    transformers_version="5.2.0",
)


@pytest.fixture(autouse=True)
def tiny_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    registry.register_model(ARCHITECTURE, TASK, "onnx", TinyOnnxModel)
    registry.register_model(ARCHITECTURE, TASK, "torch", TinyTorchModel)
    yield


@pytest.fixture
def cpu_machine() -> RuntimeEnvironment:
    return CPU_MACHINE
