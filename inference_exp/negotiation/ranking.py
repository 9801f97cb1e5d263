"""The order of the surviving packages: one sort key, smaller is better.

Key by key (earlier keys dominate):

1. backend: position in ``backend=[...]`` when given, else :data:`DEFAULT_BACKEND_PRIORITY`;
2. quantization: position in ``quantization=[...]`` when given, else :data:`DEFAULT_QUANTIZATION_PRIORITY`
   (int8 last, so it only wins where the caller listed it);
3. trusted packages first;
4. dynamic batch, then unknown, then static; 5. smaller static batch (less padding);
6. higher ONNX opset;
7. TensorRT: exact-version engines before version-compatible ones; 8. device-specific before same-CC;
9. more designated GPUs with the engine's exact name;
10. CUDA: built for a CUDA no newer than the machine's, newest first;
11. TensorRT: built with exactly the installed release, then newest;
12. fewer of this machine's ONNX providers declared incompatible;
13. wider TensorRT dynamic batch range; 14. better fused-NMS match;
15-18. TensorRT: same Jetson module, same OS, same full L4T version, same driver;
19. package id (a real, deterministic tie-break).
"""

from __future__ import annotations

from inference_exp.negotiation.backend_filters import (
    cuda_version_distance,
    gpu_name_matches,
    incompatible_available_providers,
    trt_version_distance,
)
from inference_exp.negotiation.filters import nms_fusion_score
from inference_exp.negotiation.request import NegotiationRequest
from inference_exp.packages.manifests import JetsonSpecs, ModelPackage, OnnxManifest, TrtManifest
from inference_exp.packages.types import BackendType, Quantization
from inference_exp.runtime.environment import RuntimeEnvironment

DEFAULT_BACKEND_PRIORITY = (
    BackendType.TRT,
    BackendType.TORCH,
    BackendType.HUGGING_FACE,
    BackendType.ONNX,
    BackendType.TORCH_SCRIPT,
    BackendType.ULTRALYTICS,
    BackendType.CUSTOM,
)
DEFAULT_QUANTIZATION_PRIORITY = (
    Quantization.FP16,
    Quantization.FP32,
    Quantization.UNKNOWN,
    Quantization.BF16,
    Quantization.INT8,
)


def _position(value: object, order: tuple[object, ...]) -> int:
    return order.index(value) if value in order else len(order)


def ranking_key(package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest) -> tuple:
    """The sort key of ``package`` (ascending sort puts the best package first). ``request.device`` is resolved."""
    assert request.device is not None
    manifest = package.manifest
    trt = manifest if isinstance(manifest, TrtManifest) else None
    backend_order = request.backends or DEFAULT_BACKEND_PRIORITY
    quantization_order = request.quantizations or DEFAULT_QUANTIZATION_PRIORITY
    batch_mode = {True: 0, None: 1, False: 2}[package.dynamic_batch_size]
    opset = manifest.opset if isinstance(manifest, OnnxManifest) and manifest.opset is not None else 0
    dynamic_width = 0
    if trt is not None and trt.min_batch_size is not None and trt.max_batch_size is not None:
        dynamic_width = trt.max_batch_size - trt.min_batch_size
    return (
        _position(package.backend, backend_order),
        _position(package.quantization, quantization_order),
        0 if package.trusted_source else 1,
        batch_mode,
        package.static_batch_size or 0,
        -opset,
        1 if trt is not None and trt.trt_forward_compatible else 0,
        1 if trt is not None and trt.same_cc_compatible else 0,
        -gpu_name_matches(package, environment, request.device),
        cuda_version_distance(package, environment),
        trt_version_distance(package, environment),
        incompatible_available_providers(package, environment),
        -dynamic_width,
        -nms_fusion_score(package, request),
        *_compiled_here(trt, environment),
        package.package_id,
    )


def _compiled_here(trt: TrtManifest | None, environment: RuntimeEnvironment) -> tuple[int, int, int, int]:
    """0 where the engine's compile machine matches this one (Jetson module, OS, full L4T, driver), else 1."""
    if trt is None or trt.machine_type is None:
        return 0, 0, 0, 0
    specs = trt.machine_specs
    if isinstance(specs, JetsonSpecs):
        same_module = specs.device_name == environment.jetson_type
        same_os = True
        same_l4t = specs.l4t_version == environment.l4t_version
    else:
        same_module = True
        same_os = specs.os_version == environment.os_version
        same_l4t = True
    same_driver = specs.driver_version == environment.driver_version
    return tuple(0 if same else 1 for same in (same_module, same_os, same_l4t, same_driver))  # type: ignore[return-value]


def rank_packages(
    packages: list[ModelPackage], environment: RuntimeEnvironment, request: NegotiationRequest
) -> list[ModelPackage]:
    """``packages`` best first."""
    return sorted(packages, key=lambda package: ranking_key(package, environment, request))
