"""A human-readable report of a :class:`RuntimeEnvironment`, with the extras that would unlock more backends."""

from __future__ import annotations

from inference_exp.packages.types import BackendType
from inference_exp.runtime.devices import default_device
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.runtime.extras import extras_for_backend


def missing_runtime_hints(environment: RuntimeEnvironment) -> list[str]:
    """One line per backend runtime this machine could use but lacks, naming what to install."""
    hints: list[str] = []
    gpu_machine = environment.gpu_available or environment.driver_version is not None or environment.is_jetson

    def suggest(problem: str, backend: BackendType) -> None:
        extras = " or ".join(
            f"pip install 'inference-exp[{extra}]'" for extra in extras_for_backend(backend, environment)
        )
        hints.append(f"{problem} → {extras}")

    if environment.onnxruntime_version is None:
        suggest("onnxruntime not installed", BackendType.ONNX)
    elif not environment.onnx_execution_providers:
        suggest(
            f"onnxruntime {environment.onnxruntime_version} reports no execution provider", BackendType.ONNX
        )
    elif gpu_machine and "CUDAExecutionProvider" not in environment.onnx_execution_providers:
        suggest("onnxruntime has no CUDAExecutionProvider on this GPU machine", BackendType.ONNX)
    if environment.torch_version is None:
        suggest("torch not installed", BackendType.TORCH)
    elif gpu_machine and not environment.torch_cuda_available:
        suggest(f"torch {environment.torch_version} cannot use the GPU (CPU-only build?)", BackendType.TORCH)
    if gpu_machine and environment.trt_version is None:
        suggest("TensorRT not installed", BackendType.TRT)
    elif environment.trt_version is not None and not environment.trt_python_package_available:
        suggest(
            f"TensorRT {environment.trt_version} found but its Python package is not importable",
            BackendType.TRT,
        )
    if environment.transformers_version is None:
        hints.append(
            "transformers not installed (Hugging Face packages) → pip install --force-reinstall inference-exp"
        )
    return hints


def format_environment(environment: RuntimeEnvironment) -> str:
    """A multi-line report: machine, accelerators, runtimes, default device and what could be installed."""

    def value(text: str | None) -> str:
        return text if text else "-"

    if environment.gpus:
        gpus = "; ".join(
            f"cuda:{index} {gpu.name} (CC {gpu.compute_capability}"
            + (f", {gpu.memory_bytes / 2**30:.1f} GiB)" if gpu.memory_bytes else ")")
            for index, gpu in enumerate(environment.gpus)
        )
    else:
        gpus = "none"
    trt = value(environment.trt_version)
    if environment.trt_version is not None:
        trt += " (python package " + (
            "importable)" if environment.trt_python_package_available else "missing)"
        )
    if environment.is_jetson:
        jetson = f"{value(environment.jetson_type)}, L4T {value(environment.l4t_version)}"
    else:
        jetson = "no"
    torch = value(environment.torch_version)
    if environment.torch_version is not None:
        torch += " (CUDA " + ("available)" if environment.torch_cuda_available else "not available)")
    onnx = value(environment.onnxruntime_version)
    if environment.onnxruntime_version is not None:
        onnx += " - providers: " + (", ".join(environment.onnx_execution_providers) or "none")
    rows = [
        ("OS", f"{environment.os_name} {environment.architecture} ({value(environment.os_version)})"),
        ("CPU", f"{value(environment.cpu_name)} ({environment.cpu_count} usable)"),
        ("Python", value(environment.python_version)),
        ("GPUs", gpus),
        ("NVIDIA driver", value(environment.driver_version)),
        ("CUDA", value(environment.cuda_version)),
        ("TensorRT", trt),
        ("Jetson", jetson),
        ("torch", torch),
        ("torchvision", value(environment.torchvision_version)),
        ("transformers", value(environment.transformers_version)),
        ("onnxruntime", onnx),
        ("default device", default_device(environment)),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {text}" for label, text in rows]
    hints = missing_runtime_hints(environment)
    if hints:
        lines += ["", "To unlock more backends:"] + [f"  * {hint}" for hint in hints]
    return "\n".join(lines)
