"""What the negotiation knows about a machine: a frozen value, detected once or built by hand in tests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class GpuDevice:
    """One CUDA device.

    Attributes:
        name: normalised device name: torch's name, spaces → ``-``, lower-cased (``nvidia-l4``, ``orin``).
        compute_capability: ``"major.minor"`` (``"8.9"``).
        memory_bytes: total memory, when known.
    """

    name: str
    compute_capability: str
    memory_bytes: int | None = None


@dataclass(frozen=True)
class RuntimeEnvironment:
    """The machine as negotiation sees it. ``None`` means "not present / not detected".

    Attributes:
        os_name: ``linux``, ``darwin`` or ``windows``.
        os_version: ``ubuntu-22.04``-style distribution id (Linux), else ``platform.platform()`` lower-cased.
        architecture: ``x86_64`` / ``aarch64`` / ``arm64``.
        cpu_name: CPU model name.
        cpu_count: logical CPUs usable by this process.
        python_version: ``"3.11.7"``.
        gpus: CUDA devices visible to this process, in index order.
        driver_version: NVIDIA driver version.
        cuda_version: CUDA runtime version (``"12.8"``).
        trt_version: TensorRT version (``"10.12.0.36"``).
        trt_python_package_available: whether ``import tensorrt`` works.
        jetson_type: normalised Jetson module (``nvidia-jetson-orin-nx``) when running on a Jetson.
        l4t_version: L4T version on a Jetson (``"36.4.3"``).
        onnxruntime_version: installed onnxruntime version.
        onnx_execution_providers: providers onnxruntime reports as available, in its order.
        torch_version: installed torch version without the local suffix (``"2.13.0"``).
        torch_cuda_available: ``torch.cuda.is_available()``.
        torchvision_version: installed torchvision version, if any.
        transformers_version: installed transformers version.
    """

    os_name: str = "linux"
    os_version: str | None = None
    architecture: str = "x86_64"
    cpu_name: str | None = None
    cpu_count: int = 1
    python_version: str | None = None
    gpus: tuple[GpuDevice, ...] = ()
    driver_version: str | None = None
    cuda_version: str | None = None
    trt_version: str | None = None
    trt_python_package_available: bool = False
    jetson_type: str | None = None
    l4t_version: str | None = None
    onnxruntime_version: str | None = None
    onnx_execution_providers: tuple[str, ...] = ()
    torch_version: str | None = None
    torch_cuda_available: bool = False
    torchvision_version: str | None = None
    transformers_version: str | None = None

    @property
    def gpu_available(self) -> bool:
        return len(self.gpus) > 0

    @property
    def is_jetson(self) -> bool:
        return self.jetson_type is not None or self.l4t_version is not None

    @property
    def onnxruntime_available(self) -> bool:
        return self.onnxruntime_version is not None and len(self.onnx_execution_providers) > 0

    @property
    def torch_available(self) -> bool:
        return self.torch_version is not None

    @property
    def transformers_available(self) -> bool:
        return self.transformers_version is not None

    def fingerprint(self) -> str:
        """A stable SHA-256 hex digest of every field (keys cached decisions to this machine)."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()
