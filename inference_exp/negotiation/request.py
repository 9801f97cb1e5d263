"""What the caller asked for, validated: the request half of the negotiation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from types import MappingProxyType
from typing import Any

from inference_exp.errors import InvalidParameterError, InvalidRequestedBatchSizeError
from inference_exp.models.base import ExecutionProvider
from inference_exp.packages.types import BackendType, Quantization, parse_backend, parse_quantization
from inference_exp.runtime.devices import device_type, parse_device

NMS_FUSION_KEYS = ("max_detections", "confidence_threshold", "iou_threshold", "class_agnostic")
# What ``nms_fusion_preferences=True`` asks for.
DEFAULT_NMS_FUSION_PREFERENCES: Mapping[str, Any] = MappingProxyType(
    {"max_detections": 300, "confidence_threshold": 0.25, "iou_threshold": 0.7, "class_agnostic": False}
)
# Quantizations allowed when the caller names none, by device type.
DEFAULT_CPU_QUANTIZATIONS = (Quantization.FP32, Quantization.UNKNOWN, Quantization.BF16)
DEFAULT_ACCELERATOR_QUANTIZATIONS = (Quantization.FP16, Quantization.FP32, Quantization.UNKNOWN)

NmsConstraint = float | int | bool | tuple[float, float]


@dataclass(frozen=True)
class NegotiationRequest:
    """The caller's constraints, normalised. Build it with :meth:`from_arguments` to validate raw values.

    Attributes:
        backends: allowed backends, most preferred first (``None``: any, default order).
        batch_size: ``(min, max)`` batch sizes the package must accept (``None``: any).
        quantizations: allowed quantizations, most preferred first (``None``: the device's default set;
            empty: any).
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (``None``: the machine's default device).
        onnx_execution_providers: ONNX Runtime providers in order, by name or ``(name, options)``
            (``None``: ``ONNXRUNTIME_EXECUTION_PROVIDERS`` ∩ available).
        allow_untrusted_packages: accept packages whose source is not trusted.
        trt_engine_host_code_allowed: accept TensorRT engines that embed the lean runtime.
        nms_fusion_preferences: constraints on packages with NMS fused into the graph (``None``: such
            packages are rejected; an empty mapping accepts any).
        model_package_id: load exactly this package (every other check but trust is skipped).
    """

    backends: tuple[BackendType, ...] | None = None
    batch_size: tuple[int, int] | None = None
    quantizations: tuple[Quantization, ...] | None = None
    device: str | None = None
    onnx_execution_providers: tuple[ExecutionProvider, ...] | None = None
    allow_untrusted_packages: bool = False
    trt_engine_host_code_allowed: bool = True
    nms_fusion_preferences: Mapping[str, NmsConstraint] | None = None
    model_package_id: str | None = None

    @classmethod
    def from_arguments(
        cls,
        *,
        backend: Any = None,
        batch_size: Any = None,
        quantization: Any = None,
        device: Any = None,
        onnx_execution_providers: Any = None,
        allow_untrusted_packages: bool = False,
        trt_engine_host_code_allowed: bool = True,
        nms_fusion_preferences: Any = None,
        model_package_id: Any = None,
    ) -> NegotiationRequest:
        """Validate the values a user passes to ``from_pretrained``.

        Raises:
            UnknownBackendTypeError: a backend is not known.
            InvalidRequestedBatchSizeError: ``batch_size`` is not ``N`` or ``(min, max)`` with ``0 < min <= max``.
            UnknownQuantizationError: a quantization is not known.
            InvalidParameterError: any other value is malformed.
        """
        return cls(
            backends=parse_backends(backend),
            batch_size=parse_batch_size(batch_size),
            quantizations=parse_quantizations(quantization),
            device=None if device is None else parse_device(device),
            onnx_execution_providers=parse_execution_providers(onnx_execution_providers),
            allow_untrusted_packages=_flag("allow_untrusted_packages", allow_untrusted_packages),
            trt_engine_host_code_allowed=_flag("trt_engine_host_code_allowed", trt_engine_host_code_allowed),
            nms_fusion_preferences=parse_nms_fusion_preferences(nms_fusion_preferences),
            model_package_id=_package_id(model_package_id),
        )

    def allowed_quantizations(self, device: str) -> tuple[tuple[Quantization, ...] | None, bool]:
        """``(allowed quantizations in preference order or None for any, whether this is the device default)``."""
        if self.quantizations is None:
            defaults = (
                DEFAULT_CPU_QUANTIZATIONS
                if device_type(device) == "cpu"
                else DEFAULT_ACCELERATOR_QUANTIZATIONS
            )
            return defaults, True
        return (self.quantizations or None), False

    def describe(self) -> str:
        """The non-default constraints, e.g. ``backend=onnx, batch_size=1-4``; ``defaults`` when none."""
        parts = []
        if self.model_package_id is not None:
            parts.append(f"model_package_id={self.model_package_id}")
        if self.backends is not None:
            parts.append("backend=" + ",".join(b.value for b in self.backends))
        if self.batch_size is not None:
            low, high = self.batch_size
            parts.append(f"batch_size={low}" if low == high else f"batch_size={low}-{high}")
        if self.quantizations is not None:
            parts.append("quantization=" + (",".join(q.value for q in self.quantizations) or "any"))
        if self.device is not None:
            parts.append(f"device={self.device}")
        if self.onnx_execution_providers is not None:
            parts.append(
                "onnx_execution_providers=" + ",".join(provider_names(self.onnx_execution_providers))
            )
        if self.allow_untrusted_packages:
            parts.append("allow_untrusted_packages=True")
        if not self.trt_engine_host_code_allowed:
            parts.append("trt_engine_host_code_allowed=False")
        if self.nms_fusion_preferences is not None:
            parts.append(f"nms_fusion_preferences={dict(self.nms_fusion_preferences)}")
        return ", ".join(parts) or "defaults"


def provider_names(providers: Sequence[ExecutionProvider]) -> tuple[str, ...]:
    """Execution provider names, whether given as names or ``(name, options)`` pairs."""
    return tuple(p if isinstance(p, str) else p[0] for p in providers)


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return None


def _unique(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


def parse_backends(value: Any) -> tuple[BackendType, ...] | None:
    """``None``, one backend or an ordered list of them → a tuple of :class:`BackendType` (``hf`` accepted)."""
    if value is None:
        return None
    items = _as_list(value)
    if items is None:
        return (parse_backend(value),)
    if not items:
        raise InvalidParameterError(
            "backend=[] allows no backend.", hint="Pass None for any backend, or name at least one."
        )
    return _unique([parse_backend(item) for item in items])


def parse_quantizations(value: Any) -> tuple[Quantization, ...] | None:
    """``None``, one quantization or a list of them (``[]``: any) → a tuple of :class:`Quantization`."""
    if value is None:
        return None
    items = _as_list(value)
    if items is None:
        return (parse_quantization(value),)
    return _unique([parse_quantization(item) for item in items])


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def parse_batch_size(value: Any) -> tuple[int, int] | None:
    """``None``, ``N`` or ``(min, max)`` → ``(min, max)``."""
    if value is None:
        return None
    if _positive_int(value):
        return value, value
    items = _as_list(value)
    if (
        items is not None
        and len(items) == 2
        and all(_positive_int(v) for v in items)
        and items[0] <= items[1]
    ):
        return items[0], items[1]
    raise InvalidRequestedBatchSizeError(
        f"batch_size={value!r} is not a positive int or a (min, max) pair with 0 < min <= max."
    )


def parse_execution_providers(value: Any) -> tuple[ExecutionProvider, ...] | None:
    """``None`` or a list of provider names / ``(name, options)`` pairs (a single name is accepted)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    items = _as_list(value)
    if items is None:
        raise InvalidParameterError(f"onnx_execution_providers must be a list, not {type(value).__name__}.")
    providers: list[ExecutionProvider] = []
    for item in items:
        if isinstance(item, str) and item.strip():
            providers.append(item.strip())
        elif (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and isinstance(item[0], str)
            and item[0].strip()
            and isinstance(item[1], Mapping)
        ):
            providers.append((item[0].strip(), dict(item[1])))
        else:
            raise InvalidParameterError(
                f"onnx_execution_providers entry {item!r} is neither a provider name nor a (name, options) pair.",
                hint="Example: ['CUDAExecutionProvider', ('CPUExecutionProvider', {})].",
            )
    if not providers:
        raise InvalidParameterError(
            "onnx_execution_providers=[] names no provider.", hint="Pass None for the defaults."
        )
    return tuple(providers)


def parse_nms_fusion_preferences(value: Any) -> Mapping[str, NmsConstraint] | None:
    """``None``/``False`` (reject fused NMS), ``True`` (the defaults) or a mapping of constraints.

    Each of ``max_detections``, ``confidence_threshold``, ``iou_threshold`` may be a number (exact match) or a
    ``(low, high)`` pair (inclusive, either order); ``class_agnostic`` must be a bool. Absent keys are not checked.
    """
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_NMS_FUSION_PREFERENCES
    if not isinstance(value, Mapping):
        raise InvalidParameterError(
            f"nms_fusion_preferences must be None, a bool or a dict, not {type(value).__name__}."
        )
    unknown = sorted(set(value) - set(NMS_FUSION_KEYS))
    if unknown:
        raise InvalidParameterError(
            f"nms_fusion_preferences has unknown keys {unknown}.",
            hint=f"Allowed keys: {', '.join(NMS_FUSION_KEYS)}.",
        )
    parsed: dict[str, NmsConstraint] = {}
    for key, constraint in value.items():
        if key == "class_agnostic":
            if not isinstance(constraint, bool):
                raise InvalidParameterError(
                    f"nms_fusion_preferences['class_agnostic'] must be a bool, not {constraint!r}."
                )
            parsed[key] = constraint
            continue
        pair = _as_list(constraint)
        if _is_number(constraint):
            parsed[key] = constraint
        elif pair is not None and len(pair) == 2 and all(_is_number(v) for v in pair):
            parsed[key] = (min(pair), max(pair))
        else:
            raise InvalidParameterError(
                f"nms_fusion_preferences[{key!r}]={constraint!r} must be a number or a (low, high) pair."
            )
    return MappingProxyType(parsed)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be True or False, not {value!r}.")
    return value


def _package_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError(f"model_package_id must be a non-empty string, not {value!r}.")
    return value.strip()
