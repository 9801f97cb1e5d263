"""Backend and quantization identifiers, and the parsing of user-supplied values for them."""

from __future__ import annotations

from enum import Enum

from inference_exp.errors import UnknownBackendTypeError, UnknownQuantizationError


class BackendType(str, Enum):
    """Runtimes a model package can target. Values are the ids users pass as ``backend=``."""

    TRT = "trt"
    TORCH = "torch"
    HUGGING_FACE = "hugging-face"
    ONNX = "onnx"
    TORCH_SCRIPT = "torch-script"
    ULTRALYTICS = "ultralytics"
    CUSTOM = "custom"

    def __str__(self) -> str:
        return self.value


class Quantization(str, Enum):
    """Numeric precision of a package's weights."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


_BACKEND_ALIASES = {"hf": BackendType.HUGGING_FACE, "torchscript": BackendType.TORCH_SCRIPT, "tensorrt": BackendType.TRT}


def parse_backend(value: str | BackendType) -> BackendType:
    """A backend from its id (case-insensitive; ``hf``, ``torchscript`` and ``tensorrt`` accepted as aliases)."""
    if isinstance(value, BackendType):
        return value
    if not isinstance(value, str):
        raise UnknownBackendTypeError(f"backend must be a string, not {type(value).__name__}.")
    key = value.strip().lower()
    if key in _BACKEND_ALIASES:
        return _BACKEND_ALIASES[key]
    try:
        return BackendType(key)
    except ValueError:
        raise UnknownBackendTypeError(f"Unknown backend {value!r}.") from None


def parse_quantization(value: str | Quantization) -> Quantization:
    """A quantization from its id (case-insensitive)."""
    if isinstance(value, Quantization):
        return value
    if not isinstance(value, str):
        raise UnknownQuantizationError(f"quantization must be a string, not {type(value).__name__}.")
    try:
        return Quantization(value.strip().lower())
    except ValueError:
        raise UnknownQuantizationError(f"Unknown quantization {value!r}.") from None
