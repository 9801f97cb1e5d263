"""Which ``inference-exp[...]`` extra installs a backend's runtime on a given machine."""

from __future__ import annotations

from packaging.version import Version

from inference_exp.packages.types import BackendType
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.runtime.versions import parse_version

# (minimum machine CUDA version, torch extra), newest first.
_TORCH_CUDA_EXTRAS = (
    ("12.8", "torch-cu128"),
    ("12.6", "torch-cu126"),
    ("12.4", "torch-cu124"),
    ("11.8", "torch-cu118"),
)


def extras_for_backend(backend: BackendType, environment: RuntimeEnvironment) -> tuple[str, ...]:
    """The extra(s) that would install ``backend``'s runtime here (empty when no extra installs it).

    ONNX and torch pick the flavour matching the machine: Jetson, CUDA (by CUDA version) or CPU.
    """
    if backend is BackendType.TRT:
        return ("trt10",)
    if backend is BackendType.ONNX:
        if environment.is_jetson:
            return ("onnx-jp6-cu126",)
        if _has_nvidia_gpu(environment):
            return ("onnx-cu118",) if _cuda_major(environment) == 11 else ("onnx-cu12",)
        return ("onnx-cpu",)
    if backend in (BackendType.TORCH, BackendType.TORCH_SCRIPT):
        return (_torch_extra(environment),)
    return ()


def _torch_extra(environment: RuntimeEnvironment) -> str:
    if environment.is_jetson:
        return "torch-jp6-cu126"
    if not _has_nvidia_gpu(environment):
        return "torch-cpu"
    cuda = parse_version(environment.cuda_version)
    if cuda is None:
        return _TORCH_CUDA_EXTRAS[0][1]
    for minimum, extra in _TORCH_CUDA_EXTRAS:
        if cuda >= Version(minimum):
            return extra
    return _TORCH_CUDA_EXTRAS[-1][1]


def _has_nvidia_gpu(environment: RuntimeEnvironment) -> bool:
    return environment.gpu_available or environment.driver_version is not None


def _cuda_major(environment: RuntimeEnvironment) -> int | None:
    cuda = parse_version(environment.cuda_version)
    return cuda.major if cuda is not None else None
