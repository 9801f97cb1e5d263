"""Devices, extras, the human-readable report, and dpkg parsing."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from typing import Any

import pytest

from inference_exp.errors import InvalidEnvironmentVariableError, InvalidParameterError
from inference_exp.packages.types import BackendType
from inference_exp.runtime import (
    GpuDevice,
    RuntimeEnvironment,
    default_device,
    extras_for_backend,
    format_environment,
    parse_device,
    probes,
)
from inference_exp.runtime.devices import device_index, device_type

CPU_WITHOUT_RUNTIMES = RuntimeEnvironment(
    os_version="ubuntu-24.04", cpu_name="Xeon", cpu_count=2, python_version="3.11.7"
)
L4 = RuntimeEnvironment(
    gpus=(GpuDevice("nvidia-l4", "8.9", 24 * 2**30),),
    driver_version="570.133.20",
    cuda_version="12.8",
    torch_version="2.7.0",
    torch_cuda_available=True,
    onnxruntime_version="1.22.0",
    onnx_execution_providers=("CPUExecutionProvider",),
    transformers_version="4.56.1",
)
ORIN = RuntimeEnvironment(
    architecture="aarch64",
    gpus=(GpuDevice("orin", "8.7"),),
    jetson_type="nvidia-jetson-orin-nx",
    l4t_version="36.4.3",
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cpu", "cpu"),
        ("CUDA", "cuda"),
        ("cuda:0", "cuda:0"),
        ("cuda:03", "cuda:3"),
        (" mps ", "mps"),
        ("mps:0", "mps"),
    ],
)
def test_parse_device(value: str, expected: str) -> None:
    assert parse_device(value) == expected


@pytest.mark.parametrize("value", ["gpu", "cuda:", "cuda:-1", "tpu", "", None, 1])
def test_parse_device_rejects(value: Any) -> None:
    with pytest.raises(InvalidParameterError):
        parse_device(value)


def test_device_parts() -> None:
    assert (device_type("cuda:2"), device_index("cuda:2")) == ("cuda", 2)
    assert (device_type("cpu"), device_index("cpu")) == ("cpu", None)


def test_default_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_device(CPU_WITHOUT_RUNTIMES) == "cpu"
    assert default_device(L4) == "cuda"
    assert default_device(replace(L4, torch_cuda_available=False)) == "cpu"
    monkeypatch.setenv("DEFAULT_DEVICE", "cuda:1")
    assert default_device(CPU_WITHOUT_RUNTIMES) == "cuda:1"
    monkeypatch.setenv("DEFAULT_DEVICE", "graphics-card")
    with pytest.raises(InvalidEnvironmentVariableError, match="DEFAULT_DEVICE"):
        default_device(L4)


@pytest.mark.parametrize(
    ("environment", "backend", "expected"),
    [
        (CPU_WITHOUT_RUNTIMES, BackendType.ONNX, ("onnx-cpu",)),
        (CPU_WITHOUT_RUNTIMES, BackendType.TORCH, ("torch-cpu",)),
        (L4, BackendType.ONNX, ("onnx-cu12",)),
        (L4, BackendType.TORCH_SCRIPT, ("torch-cu128",)),
        (replace(L4, cuda_version="12.6"), BackendType.TORCH, ("torch-cu126",)),
        (replace(L4, cuda_version="12.4"), BackendType.TORCH, ("torch-cu124",)),
        (replace(L4, cuda_version="11.8"), BackendType.TORCH, ("torch-cu118",)),
        (replace(L4, cuda_version="11.8"), BackendType.ONNX, ("onnx-cu118",)),
        (ORIN, BackendType.ONNX, ("onnx-jp6-cu126",)),
        (ORIN, BackendType.TORCH, ("torch-jp6-cu126",)),
        (L4, BackendType.TRT, ("trt10",)),
        (L4, BackendType.HUGGING_FACE, ()),
    ],
)
def test_extras_for_backend(
    environment: RuntimeEnvironment, backend: BackendType, expected: tuple[str, ...]
) -> None:
    assert extras_for_backend(backend, environment) == expected


def test_report_of_a_bare_cpu_box_says_what_to_install() -> None:
    report = format_environment(CPU_WITHOUT_RUNTIMES)
    assert "GPUs            none" in report
    assert "default device  cpu" in report
    assert "onnxruntime not installed → pip install 'inference-exp[onnx-cpu]'" in report
    assert "torch not installed → pip install 'inference-exp[torch-cpu]'" in report
    assert "TensorRT" not in report.split("To unlock more backends:")[1]  # no GPU: TensorRT would not help


def test_report_of_a_gpu_server() -> None:
    report = format_environment(L4)
    assert "cuda:0 nvidia-l4 (CC 8.9, 24.0 GiB)" in report
    assert "default device  cuda" in report
    assert "TensorRT not installed → pip install 'inference-exp[trt10]'" in report
    assert (
        "onnxruntime has no CUDAExecutionProvider on this GPU machine → pip install 'inference-exp[onnx-cu12]'"
        in report
    )
    cpu_torch = format_environment(replace(L4, torch_cuda_available=False))
    assert (
        "torch 2.7.0 cannot use the GPU (CPU-only build?) → pip install 'inference-exp[torch-cu128]'"
        in cpu_torch
    )


def test_report_of_a_jetson() -> None:
    report = format_environment(ORIN)
    assert "nvidia-jetson-orin-nx, L4T 36.4.3" in report
    assert "pip install 'inference-exp[onnx-jp6-cu126]'" in report


def test_dpkg_version_reads_installed_packages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(
            command, 0, stdout="un 9.0.0-1\nii  10.12.0.36-1+cuda12.9\n", stderr=""
        )

    monkeypatch.setattr(probes.shutil, "which", lambda name: "/usr/bin/dpkg-query")
    monkeypatch.setattr(probes.subprocess, "run", run)
    assert probes.dpkg_version("libnvinfer-bin") == "10.12.0.36"
    assert calls[0][0] == "dpkg-query" and calls[0][-1] == "libnvinfer-bin"
    monkeypatch.setattr(probes.shutil, "which", lambda name: None)
    assert probes.dpkg_version("libnvinfer-bin") is None


def test_torch_devices_are_accepted() -> None:
    import torch

    assert parse_device(torch.device("cuda", 1)) == "cuda:1"
    assert parse_device(torch.device("cpu")) == "cpu"


def test_real_detection_is_consistent_with_this_interpreter() -> None:
    import platform
    from importlib import metadata

    from inference_exp.runtime.detection import detect_environment

    environment = detect_environment()
    assert environment.python_version == platform.python_version()
    assert environment.os_name == platform.system().lower()
    assert environment.cpu_count >= 1
    assert environment.torch_version == metadata.version("torch").split("+")[0]
    assert environment.gpu_available == bool(environment.gpus)
