"""Registers a tiny ``testnet`` model for every backend (ONNX and TorchScript accept fused NMS)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from negotiation_builders import ARCHITECTURE, TASK

from inference_exp.models import registry
from inference_exp.models.base import LoadOptions, Model


class TinyNet(Model):
    task = TASK

    @classmethod
    def from_pretrained(cls, package_dir: Any, options: LoadOptions) -> Model:
        return cls()

    @property
    def class_names(self) -> Sequence[str]:
        return ("a",)

    def infer(self, images: Any, **params: Any) -> Any:
        return images


@pytest.fixture(autouse=True)
def testnet_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    for backend in ("onnx", "torch-script"):
        registry.register_model(ARCHITECTURE, TASK, backend, TinyNet, supported_features=("nms_fused",))
    for backend in ("trt", "torch", "hugging-face"):
        registry.register_model(ARCHITECTURE, TASK, backend, TinyNet)
    yield
