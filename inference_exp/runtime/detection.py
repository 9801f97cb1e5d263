"""Detect the :class:`RuntimeEnvironment` of this process, once.

Detection is cheap on purpose: versions come from installed-distribution metadata, facts from small files
under ``/proc`` and ``/etc``. torch is imported only when it is already loaded or the machine shows NVIDIA
signs (a loaded driver, a Jetson); a CPU box never pays for ``import torch`` to learn it has no GPU.
onnxruntime is imported when installed (~0.1 s) because only it can list its execution providers.

Environment overrides: ``RUNNING_ON_JETSON`` (true/false), ``JETSON_MODULE`` (a known module name) and
``L4T_VERSION`` (containers often hide the Jetson files).
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import threading
from types import ModuleType

from packaging.version import InvalidVersion, Version

from inference_exp.errors import InvalidEnvironmentVariableError
from inference_exp.runtime import probes
from inference_exp.runtime.environment import GpuDevice, RuntimeEnvironment
from inference_exp.settings import env_bool, env_str
from inference_exp.utils.logging import get_logger

_logger = get_logger("runtime")
_lock = threading.Lock()
_cached: RuntimeEnvironment | None = None

TENSORRT_DISTRIBUTIONS = (
    "tensorrt",
    "tensorrt-cu12",
    "tensorrt-cu13",
    "tensorrt-cu11",
    "tensorrt-cu12-bindings",
)


def describe_compute_environment(refresh: bool = False) -> RuntimeEnvironment:
    """What this machine offers to the negotiation: OS, CPU, GPUs, driver/CUDA/TensorRT, Jetson, runtimes.

    Detected on the first call and cached for the process; ``refresh=True`` detects again.

    Raises:
        InvalidEnvironmentVariableError: ``RUNNING_ON_JETSON``, ``JETSON_MODULE`` or ``L4T_VERSION`` is invalid.
    """
    global _cached
    with _lock:
        if _cached is None or refresh:
            _cached = detect_environment()
        return _cached


def detect_environment() -> RuntimeEnvironment:
    """Detect the environment now (uncached; see :func:`describe_compute_environment`)."""
    jetson_type, l4t_version = _detect_jetson()
    nvidia_present = l4t_version is not None or any(
        probes.path_exists(p) for p in probes.NVIDIA_PRESENCE_FILES
    )
    torch_version = probes.distribution_version("torch")
    torch_module = _torch_module(nvidia_present, torch_installed=torch_version is not None)
    gpus, torch_cuda_available = _detect_gpus(torch_module)
    onnxruntime_version, providers = _detect_onnxruntime()
    return RuntimeEnvironment(
        os_name=platform.system().lower() or "unknown",
        os_version=_os_version(),
        architecture=platform.machine().lower() or "unknown",
        cpu_name=probes.parse_cpu_name(probes.read_text(probes.CPU_INFO_FILE))
        or platform.processor()
        or None,
        cpu_count=_cpu_count(),
        python_version=platform.python_version(),
        gpus=gpus,
        driver_version=probes.parse_driver_version(probes.read_text(probes.DRIVER_VERSION_FILE))
        or l4t_version,
        cuda_version=_cuda_version(torch_module, nvidia_present),
        trt_version=(probes.dpkg_version("libnvinfer-bin") if nvidia_present else None)
        or probes.distribution_version(*TENSORRT_DISTRIBUTIONS),
        trt_python_package_available=probes.module_available("tensorrt"),
        jetson_type=jetson_type,
        l4t_version=l4t_version,
        onnxruntime_version=onnxruntime_version,
        onnx_execution_providers=providers,
        torch_version=torch_version,
        torch_cuda_available=torch_cuda_available,
        torchvision_version=probes.distribution_version("torchvision"),
        transformers_version=probes.distribution_version("transformers"),
    )


def _detect_jetson() -> tuple[str | None, str | None]:
    """``(jetson_type, l4t_version)``; both ``None`` off a Jetson."""
    if env_str("RUNNING_ON_JETSON") is not None and not env_bool("RUNNING_ON_JETSON", False):
        return None, None
    declared_module = env_str("JETSON_MODULE")
    if declared_module is not None:
        jetson_type = probes.normalise_jetson_type(declared_module)
        if jetson_type is None:
            raise InvalidEnvironmentVariableError(
                f"JETSON_MODULE={declared_module!r} is not a known Jetson module "
                f"(known: {', '.join(probes.JETSON_MODULES)})."
            )
    else:
        jetson_type = probes.normalise_jetson_type(probes.read_text(probes.DEVICE_TREE_MODEL_FILE))
    declared_l4t = env_str("L4T_VERSION")
    if declared_l4t is None:
        return jetson_type, probes.parse_tegra_release(probes.read_text(probes.TEGRA_RELEASE_FILE))
    try:
        Version(declared_l4t)
    except InvalidVersion:
        raise InvalidEnvironmentVariableError(
            f"L4T_VERSION={declared_l4t!r} is not a version (e.g. 36.4.3)."
        ) from None
    return jetson_type, declared_l4t


def _torch_module(nvidia_present: bool, *, torch_installed: bool) -> ModuleType | None:
    """torch when it is already imported, or importable on a machine that shows NVIDIA signs; else ``None``."""
    module = sys.modules.get("torch")
    if module is not None or not (nvidia_present and torch_installed):
        return module
    try:
        return importlib.import_module("torch")
    except Exception as error:  # a broken CUDA install must not break detection
        _logger.debug("torch is installed but cannot be imported: %s", error)
        return None


def _detect_gpus(torch: ModuleType | None) -> tuple[tuple[GpuDevice, ...], bool]:
    if torch is None:
        return (), False
    try:
        if not torch.cuda.is_available():
            return (), False
        devices = []
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            devices.append(
                GpuDevice(
                    name=probes.normalise_device_name(properties.name),
                    compute_capability=f"{properties.major}.{properties.minor}",
                    memory_bytes=int(properties.total_memory),
                )
            )
        return tuple(devices), True
    except Exception as error:
        _logger.debug("CUDA devices could not be listed: %s", error)
        return (), False


def _cuda_version(torch: ModuleType | None, nvidia_present: bool) -> str | None:
    """The CUDA runtime torch was built with, else the installed ``cuda-cudart`` package (``major.minor``)."""
    version = getattr(getattr(torch, "version", None), "cuda", None) if torch is not None else None
    if version is None and nvidia_present:
        version = probes.dpkg_version("cuda-cudart-[0-9]*")
    if not version:
        return None
    return ".".join(str(version).split(".")[:2])


def _detect_onnxruntime() -> tuple[str | None, tuple[str, ...]]:
    if not probes.module_available("onnxruntime"):
        return None, ()
    try:
        onnxruntime = importlib.import_module("onnxruntime")
        version = probes.strip_local_version(str(onnxruntime.__version__))
        return version, tuple(onnxruntime.get_available_providers())
    except Exception as error:
        _logger.debug("onnxruntime is installed but unusable: %s", error)
        return probes.distribution_version("onnxruntime", "onnxruntime-gpu"), ()


def _os_version() -> str | None:
    if platform.system() == "Linux":
        parsed = probes.parse_os_release(probes.read_text(probes.OS_RELEASE_FILE))
        if parsed:
            return parsed
    return platform.platform().lower() or None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
