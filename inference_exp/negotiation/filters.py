"""Checks every package goes through, whatever its backend: implementation, trust, backend, batch,
quantization and NMS fusion. Each is a pure function returning a :class:`Reason` or ``None``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from inference_exp.models.registry import registry_entry
from inference_exp.negotiation.reason import Check, Reason
from inference_exp.negotiation.request import NMS_FUSION_KEYS, NegotiationRequest
from inference_exp.packages.manifests import CustomManifest, ModelPackage, TrtManifest
from inference_exp.runtime.environment import RuntimeEnvironment

NMS_FUSED_FEATURE = "nms_fused"
_NMS_TOLERANCE = 1e-5


def implementation_check(architecture: str, task: str | None) -> Check:
    """A check that the library implements (architecture, task, backend) and the package's model features.

    Local packages that ship their own code (custom manifests) carry their implementation and pass.
    """

    def check(
        package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
    ) -> Reason | None:
        if isinstance(package.manifest, CustomManifest):
            return None
        entry = registry_entry(architecture, task, package.backend)
        if entry is None:
            return Reason(
                f"inference-exp has no {package.backend.value} implementation of {architecture} ({task or 'no task'})"
            )
        problem = entry.feature_problem((package.model_features or {}).keys())
        if problem is not None:
            return Reason(
                f"package {problem} (for the {package.backend.value} implementation of {architecture})"
            )
        return None

    return check


def trust_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """Untrusted packages need ``allow_untrusted_packages=True``."""
    if package.trusted_source or request.allow_untrusted_packages:
        return None
    return Reason(
        "package is not from a trusted source; pass allow_untrusted_packages=True if you trust its publisher"
    )


def requested_backend_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """The package's backend must be among ``backend=``."""
    if request.backends is None or package.backend in request.backends:
        return None
    requested = ", ".join(b.value for b in request.backends)
    return Reason(f"backend {package.backend.value} was not requested (backend={requested})")


def batch_bounds(package: ModelPackage) -> tuple[int, float] | None:
    """``(smallest, largest)`` batch the package accepts; ``None`` when it has no batch information."""
    if package.dynamic_batch_size is None:
        return None
    if not package.dynamic_batch_size:
        size = package.static_batch_size
        return (size, size) if size is not None else None
    manifest = package.manifest
    if isinstance(manifest, TrtManifest):
        bounds = [
            b
            for b in (manifest.min_batch_size, manifest.opt_batch_size, manifest.max_batch_size)
            if b is not None
        ]
        if bounds:
            return min(bounds), max(bounds)
    return 1, math.inf


def describe_batch(package: ModelPackage) -> str:
    """``dynamic``, ``dynamic 1-16``, ``static 8`` or ``unknown``."""
    bounds = batch_bounds(package)
    if bounds is None:
        return "unknown"
    if not package.dynamic_batch_size:
        return f"static {bounds[0]}"
    if bounds[1] == math.inf:
        return "dynamic"
    return f"dynamic {bounds[0]}-{int(bounds[1])}"


def batch_size_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """A static package's batch must lie in the requested range; a dynamic one's bounds must contain it.

    Packages without batch information (Hugging Face, ultralytics) match any request.
    """
    if request.batch_size is None:
        return None
    bounds = batch_bounds(package)
    if bounds is None:
        return None
    low, high = request.batch_size
    requested = f"{low}" if low == high else f"{low}-{high}"
    if not package.dynamic_batch_size:
        if low <= bounds[0] <= high:
            return None
        return Reason(f"package has a static batch size of {bounds[0]}, requested batch_size={requested}")
    if bounds[0] <= low and high <= bounds[1]:
        return None
    return Reason(
        f"package accepts batches of {bounds[0]}-{int(bounds[1])}, requested batch_size={requested}"
    )


def quantization_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """The package's quantization must be allowed (by the caller, or by the device's defaults: never int8)."""
    assert request.device is not None
    allowed, is_default = request.allowed_quantizations(request.device)
    if allowed is None or package.quantization in allowed:
        return None
    names = ", ".join(q.value for q in allowed)
    if is_default:
        return Reason(
            f"quantization {package.quantization.value} is not among the defaults for device {request.device} "
            f"({names}); pass quantization='{package.quantization.value}' to allow it"
        )
    return Reason(f"quantization {package.quantization.value} was not requested (quantization={names})")


def nms_fusion_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """Packages with NMS fused into the graph need ``nms_fusion_preferences`` that their parameters meet."""
    features = package.model_features or {}
    if NMS_FUSED_FEATURE not in features:
        return None
    fused = features[NMS_FUSED_FEATURE]
    if not isinstance(fused, Mapping) or any(key not in fused for key in NMS_FUSION_KEYS):
        return Reason(
            f"malformed {NMS_FUSED_FEATURE} model feature (needs {', '.join(NMS_FUSION_KEYS)}): {fused!r}"
        )
    baked = ", ".join(f"{key}={fused[key]}" for key in NMS_FUSION_KEYS)
    if request.nms_fusion_preferences is None:
        return Reason(
            f"package has NMS fused into the graph ({baked}); pass nms_fusion_preferences=True "
            "(or constraints) to accept it"
        )
    mismatches = [
        f"{key}={fused[key]} (requested {_describe_constraint(constraint)})"
        for key, constraint in request.nms_fusion_preferences.items()
        if nms_constraint_score(fused[key], constraint) is None
    ]
    if mismatches:
        return Reason("fused NMS does not meet nms_fusion_preferences: " + ", ".join(mismatches))
    return None


def nms_constraint_score(value: Any, constraint: Any) -> float | None:
    """How well a fused-NMS parameter meets a constraint: ``None`` if it does not, else 0..1 (1 = ideal).

    A ``(low, high)`` range scores 1 at its centre and less towards its edges; a scalar or bool scores 1 on
    equality.
    """
    if isinstance(constraint, bool):
        return 1.0 if value in (True, False) and bool(value) == constraint else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(constraint, tuple):
        low, high = constraint
        if not low - _NMS_TOLERANCE <= value <= high + _NMS_TOLERANCE:
            return None
        if high - low <= _NMS_TOLERANCE:
            return 1.0
        return 1.0 - abs(0.5 - (value - low) / (high - low))
    return 1.0 if abs(value - constraint) <= _NMS_TOLERANCE else None


def nms_fusion_score(package: ModelPackage, request: NegotiationRequest) -> float:
    """Sum of :func:`nms_constraint_score` over the requested keys (0 for packages without fused NMS)."""
    fused = (package.model_features or {}).get(NMS_FUSED_FEATURE)
    if not isinstance(fused, Mapping) or request.nms_fusion_preferences is None:
        return 0.0
    scores = (nms_constraint_score(fused.get(key), c) for key, c in request.nms_fusion_preferences.items())
    return sum(score or 0.0 for score in scores)


def _describe_constraint(constraint: Any) -> str:
    if isinstance(constraint, tuple):
        return f"{constraint[0]}-{constraint[1]}"
    return str(constraint)
