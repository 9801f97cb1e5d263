"""What every loaded model is: the contract between :class:`~inference_exp.AutoModel` and model families.

A family implements one task for one architecture family (``yolov8`` detection, …) on any backend: it
receives the backend in :class:`LoadOptions` and builds the matching runner from
:mod:`inference_exp.backends`. ``model(images, **params)`` is ``post_process(forward(pre_process(images)))``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from inference_exp.packages.types import BackendType

# An ONNX Runtime execution provider, by name or as (name, provider options).
ExecutionProvider = str | tuple[str, Mapping[str, Any]]


@dataclass(frozen=True)
class LoadOptions:
    """How to load a package; built by ``AutoModel.from_pretrained`` from the caller's arguments.

    Attributes:
        backend: the backend of the chosen package.
        device: torch-style device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
        onnx_execution_providers: ONNX Runtime providers in order of preference (``None``: the defaults that
            are available, see :func:`inference_exp.settings.onnx_execution_providers`).
        default_onnx_trt_options: give ONNX Runtime's TensorRT provider an engine cache and fp16.
        trt_engine_host_code_allowed: allow TensorRT engines that embed the lean runtime.
        allow_pickled_weights: allow ``torch.load`` of pickled (non ``weights_only``) checkpoints.
        extra: family-specific keyword arguments passed through ``from_pretrained``.
    """

    backend: BackendType
    device: str = "cpu"
    onnx_execution_providers: tuple[ExecutionProvider, ...] | None = None
    default_onnx_trt_options: bool = True
    trt_engine_host_code_allowed: bool = True
    allow_pickled_weights: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


class Model(ABC):
    """Base of every loaded model."""

    #: the task this model solves (``"object-detection"``, …).
    task: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_pretrained(cls, package_dir: str | Path, options: LoadOptions) -> Model:
        """Load the package in ``package_dir`` (a verified, complete directory) for ``options.backend``.

        Raises:
            CorruptedModelPackageError: a required file is missing or malformed.
            MissingDependencyError: the backend's runtime is not installed.
        """

    @property
    @abstractmethod
    def class_names(self) -> Sequence[str]:
        """The model's class names, index = class id (empty for models without classes)."""

    @abstractmethod
    def infer(self, images: Any, **params: Any) -> Any:
        """Run the model on ``images`` (see :mod:`inference_exp.inputs`) and return typed predictions."""

    def __call__(self, images: Any, **params: Any) -> Any:
        return self.infer(images, **params)
