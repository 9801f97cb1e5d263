"""Imaginary machines and packages (built from the wire format) for negotiation tests."""

from __future__ import annotations

from typing import Any

from inference_exp.packages.manifests import ModelMetadata, ModelPackage, UnusablePackage
from inference_exp.runtime.environment import GpuDevice, RuntimeEnvironment

ARCHITECTURE = "testnet"
TASK = "object-detection"

L4_SERVER = RuntimeEnvironment(
    os_name="linux",
    os_version="ubuntu-22.04",
    architecture="x86_64",
    gpus=(GpuDevice("nvidia-l4", "8.9"),),
    driver_version="570.133.20",
    cuda_version="12.8",
    trt_version="10.12.0.36",
    trt_python_package_available=True,
    onnxruntime_version="1.22.0",
    onnx_execution_providers=("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
    torch_version="2.7.0",
    torch_cuda_available=True,
    transformers_version="4.56.1",
)
TWO_GPU_SERVER = RuntimeEnvironment(
    os_version="ubuntu-22.04",
    gpus=(GpuDevice("nvidia-l4", "8.9"), GpuDevice("nvidia-a10g", "8.6")),
    driver_version="570.133.20",
    cuda_version="12.8",
    trt_version="10.12.0.36",
    trt_python_package_available=True,
    torch_version="2.7.0",
    torch_cuda_available=True,
)
ORIN_NX = RuntimeEnvironment(
    os_name="linux",
    os_version="ubuntu-22.04",
    architecture="aarch64",
    gpus=(GpuDevice("orin", "8.7"),),
    driver_version="540.4.0",
    cuda_version="12.6",
    trt_version="10.3.0.30",
    trt_python_package_available=True,
    jetson_type="nvidia-jetson-orin-nx",
    l4t_version="36.4.3",
    onnxruntime_version="1.20.0",
    onnx_execution_providers=("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
    torch_version="2.5.0",
    torch_cuda_available=True,
)
CPU_WITHOUT_ONNXRUNTIME = RuntimeEnvironment(
    os_version="ubuntu-24.04", torch_version="2.13.0", transformers_version="5.2.0"
)
CPU_OLD_ONNXRUNTIME = RuntimeEnvironment(
    onnxruntime_version="1.16.3", onnx_execution_providers=("CPUExecutionProvider",), torch_version="2.1.0"
)
CPU_BOX = RuntimeEnvironment(
    onnxruntime_version="1.32.0",
    onnx_execution_providers=("CPUExecutionProvider",),
    torch_version="2.13.0",
    transformers_version="5.2.0",
)
CPU_ONLY_TRT_PYTHONLESS = RuntimeEnvironment(
    gpus=(GpuDevice("nvidia-l4", "8.9"),),
    trt_version="10.12.0.36",
    torch_version="2.7.0",
    torch_cuda_available=True,
)


def _batch(dynamic: bool, static: int | None) -> dict[str, Any]:
    return {"dynamicBatchSize": dynamic, "staticBatchSize": None if dynamic else (static or 1)}


def package(
    package_id: str, manifest: dict[str, Any], *, trusted: bool = True, features: Any = None
) -> ModelPackage:
    return ModelPackage.model_validate(
        {
            "type": "external-model-package-v1",
            "packageId": package_id,
            "packageManifest": manifest,
            "packageFiles": [
                {"fileHandle": "weights.bin", "downloadUrl": "https://example.test/w", "md5Hash": None}
            ],
            "trustedSource": trusted,
            "modelFeatures": features,
        }
    )


def onnx(
    package_id: str,
    *,
    opset: int = 17,
    quantization: str = "fp32",
    dynamic: bool = True,
    static: int | None = None,
    incompatible: list[str] | None = None,
    **kwargs: Any,
) -> ModelPackage:
    manifest = {
        "type": "onnx-model-package-v1",
        "backendType": "onnx",
        "quantization": quantization,
        "opset": opset,
        "incompatibleProviders": incompatible,
        **_batch(dynamic, static),
    }
    return package(package_id, manifest, **kwargs)


def torch_package(
    package_id: str,
    *,
    quantization: str = "fp32",
    dynamic: bool = True,
    static: int | None = None,
    **kwargs: Any,
) -> ModelPackage:
    manifest = {
        "type": "torch-model-package-v1",
        "backendType": "torch",
        "quantization": quantization,
        **_batch(dynamic, static),
    }
    return package(package_id, manifest, **kwargs)


def torchscript(
    package_id: str,
    *,
    devices: tuple[str, ...] = ("cpu", "cuda"),
    torch_version: str = "2.0.0",
    torchvision_version: str | None = None,
    dynamic: bool = False,
    static: int | None = 1,
    quantization: str = "fp32",
    **kwargs: Any,
) -> ModelPackage:
    manifest = {
        "type": "torch-script-model-package-v1",
        "backendType": "torch-script",
        "quantization": quantization,
        "supportedDeviceTypes": list(devices),
        "torchVersion": torch_version,
        "torchVisionVersion": torchvision_version,
        **_batch(dynamic, static),
    }
    return package(package_id, manifest, **kwargs)


def hf(package_id: str, *, quantization: str = "fp32", **kwargs: Any) -> ModelPackage:
    return package(
        package_id,
        {"type": "hf-model-package-v1", "backendType": "hf", "quantization": quantization},
        **kwargs,
    )


def ultralytics(package_id: str, **kwargs: Any) -> ModelPackage:
    return package(package_id, {"type": "ultralytics-model-package-v1"}, **kwargs)


def trt(
    package_id: str,
    *,
    device: str = "nvidia-l4",
    cc: str = "8.9",
    cuda: str = "12.8",
    trt_version: str = "10.12.0.36",
    same_cc: bool = False,
    forward_compatible: bool = False,
    lean_excluded: bool = False,
    quantization: str = "fp16",
    bounds: tuple[int, int, int] | None = (1, 8, 16),
    static: int | None = None,
    jetson: tuple[str, str] | None = None,
    os_version: str = "ubuntu-22.04",
    driver: str = "570.133.20",
    **kwargs: Any,
) -> ModelPackage:
    """A TensorRT package; ``jetson=(device_name, l4t)`` makes it a Jetson engine."""
    if static is not None:
        batch: dict[str, Any] = {"dynamicBatchSize": False, "staticBatchSize": static}
    else:
        assert bounds is not None
        batch = {
            "dynamicBatchSize": True,
            "minBatchSize": bounds[0],
            "optBatchSize": bounds[1],
            "maxBatchSize": bounds[2],
        }
    if jetson is None:
        machine = {
            "machineType": "gpu-server",
            "machineSpecs": {"type": "gpu-server-specs-v1", "driverVersion": driver, "osVersion": os_version},
        }
    else:
        machine = {
            "machineType": "jetson",
            "machineSpecs": {
                "type": "jetson-machine-specs-v1",
                "l4tVersion": jetson[1],
                "deviceName": jetson[0],
                "driverVersion": driver,
            },
        }
    manifest = {
        "type": "trt-model-package-v1",
        "backendType": "trt",
        "quantization": quantization,
        "cudaDeviceType": device,
        "cudaDeviceCC": cc,
        "cudaVersion": cuda,
        "trtVersion": trt_version,
        "sameCCCompatible": same_cc,
        "trtForwardCompatible": forward_compatible,
        "trtLeanRuntimeExcluded": lean_excluded,
        **batch,
        **machine,
    }
    return package(package_id, manifest, **kwargs)


def unusable(package_id: str, reason: str) -> UnusablePackage:
    return UnusablePackage(package_id=package_id, reason=reason)


def metadata(
    *packages: ModelPackage | UnusablePackage, architecture: str = ARCHITECTURE, task: str = TASK
) -> ModelMetadata:
    return ModelMetadata(
        model_id="acme/parts/4",
        model_architecture=architecture,
        task_type=task,
        packages=tuple(p for p in packages if isinstance(p, ModelPackage)),
        unusable_packages=tuple(p for p in packages if isinstance(p, UnusablePackage)),
    )


NMS_DEFAULTS = {
    "max_detections": 300,
    "confidence_threshold": 0.25,
    "iou_threshold": 0.7,
    "class_agnostic": False,
}
