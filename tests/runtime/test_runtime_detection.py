"""Runtime detection on imaginary machines: file reads, dpkg, installed distributions and modules are faked."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from importlib.machinery import ModuleSpec
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from inference_exp.errors import InvalidEnvironmentVariableError
from inference_exp.runtime import detection, probes
from inference_exp.runtime.detection import describe_compute_environment, detect_environment

DRIVER_X86 = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.133.20  Fri Mar 14 05:01:19 UTC 2025\nGCC version: gcc 12\n"
DRIVER_JETSON = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  540.4.0  Release Build  (buildbrain@mobile)\n"
)
TEGRA_RELEASE = "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n"
UBUNTU = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n'


@dataclass
class FakeMachine:
    files: dict[str, str] = field(default_factory=dict)
    dpkg: dict[str, str] = field(default_factory=dict)
    distributions: dict[str, str] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)


def _module(name: str, **attributes: Any) -> ModuleType:
    module = ModuleType(name)
    module.__spec__ = ModuleSpec(name, None)
    for key, value in attributes.items():
        setattr(module, key, value)
    return module


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMachine]:
    fake = FakeMachine()
    monkeypatch.setattr(probes, "read_text", lambda path: fake.files.get(path))
    monkeypatch.setattr(probes, "path_exists", lambda path: path in fake.files)
    monkeypatch.setattr(probes, "dpkg_version", lambda pattern: fake.dpkg.get(pattern))

    def version(name: str) -> str:
        if name not in fake.distributions:
            raise metadata.PackageNotFoundError(name)
        return fake.distributions[name]

    monkeypatch.setattr(
        probes,
        "metadata",
        SimpleNamespace(version=version, PackageNotFoundError=metadata.PackageNotFoundError),
    )
    monkeypatch.setattr(probes, "module_available", lambda name: name in fake.modules)
    for name in ("RUNNING_ON_JETSON", "JETSON_MODULE", "L4T_VERSION"):
        monkeypatch.delenv(name, raising=False)
    # Detection must decide from the fakes: hide any torch/onnxruntime this test process already imported.
    for name in ("torch", "onnxruntime", "tensorrt"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(detection, "_cached", None)
    yield fake


def _no_import(monkeypatch: pytest.MonkeyPatch, *forbidden: str) -> None:
    real = detection.importlib.import_module

    def guarded(name: str, *args: Any) -> ModuleType:
        assert name not in forbidden, f"detection imported {name}"
        return real(name, *args)

    monkeypatch.setattr(detection.importlib, "import_module", guarded)


def test_cpu_box_does_not_import_torch(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine.files["/etc/os-release"] = UBUNTU
    machine.files["/proc/cpuinfo"] = "processor\t: 0\nmodel name\t: AMD EPYC 9R14\n"
    machine.distributions.update({"torch": "2.13.0+cpu", "transformers": "5.2.0"})
    _no_import(monkeypatch, "torch")
    environment = detect_environment()
    assert environment.gpus == ()
    assert environment.torch_version == "2.13.0"
    assert environment.torch_cuda_available is False
    assert environment.transformers_version == "5.2.0"
    assert environment.os_version == "ubuntu-22.04"
    assert environment.cpu_name == "AMD EPYC 9R14"
    assert environment.onnxruntime_version is None and environment.onnx_execution_providers == ()
    assert (
        environment.trt_version is None and environment.driver_version is None and not environment.is_jetson
    )


def test_gpu_server_uses_torch_for_devices(machine: FakeMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine.files["/proc/driver/nvidia/version"] = DRIVER_X86
    machine.distributions.update({"torch": "2.7.0+cu128", "tensorrt-cu12": "10.12.0.36"})
    machine.dpkg["libnvinfer-bin"] = "10.12.0.36"
    machine.modules.update({"onnxruntime", "tensorrt"})
    properties = [
        SimpleNamespace(name="NVIDIA L4", major=8, minor=9, total_memory=24 * 2**30),
        SimpleNamespace(name="NVIDIA H100 80GB HBM3", major=9, minor=0, total_memory=80 * 2**30),
    ]
    cuda = SimpleNamespace(
        is_available=lambda: True, device_count=lambda: 2, get_device_properties=properties.__getitem__
    )
    monkeypatch.setitem(
        sys.modules, "torch", _module("torch", cuda=cuda, version=SimpleNamespace(cuda="12.8"))
    )
    providers = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setitem(
        sys.modules,
        "onnxruntime",
        _module("onnxruntime", __version__="1.22.0", get_available_providers=lambda: providers),
    )
    environment = detect_environment()
    assert [(g.name, g.compute_capability) for g in environment.gpus] == [
        ("nvidia-l4", "8.9"),
        ("nvidia-h100-80gb-hbm3", "9.0"),
    ]
    assert environment.gpus[0].memory_bytes == 24 * 2**30
    assert environment.torch_cuda_available is True
    assert environment.driver_version == "570.133.20"
    assert environment.cuda_version == "12.8"
    assert environment.trt_version == "10.12.0.36" and environment.trt_python_package_available
    assert environment.onnxruntime_version == "1.22.0"
    assert environment.onnx_execution_providers == tuple(providers)


def test_trt_version_from_pip_when_dpkg_has_none(machine: FakeMachine) -> None:
    machine.distributions["tensorrt-cu12"] = "10.13.3.9"
    environment = detect_environment()
    assert environment.trt_version == "10.13.3.9"
    assert environment.trt_python_package_available is False


def test_cuda_version_from_dpkg_without_torch(machine: FakeMachine) -> None:
    machine.files["/proc/driver/nvidia/version"] = DRIVER_X86
    machine.dpkg["cuda-cudart-[0-9]*"] = "12.6.77"
    assert detect_environment().cuda_version == "12.6"


def test_jetson_from_device_tree_and_tegra_release(machine: FakeMachine) -> None:
    machine.files["/proc/device-tree/model"] = "NVIDIA Jetson Orin NX Engineering Reference Developer Kit\x00"
    machine.files["/etc/nv_tegra_release"] = TEGRA_RELEASE
    machine.files["/proc/driver/nvidia/version"] = DRIVER_JETSON
    environment = detect_environment()
    assert environment.jetson_type == "nvidia-jetson-orin-nx"
    assert environment.l4t_version == "36.4.3"
    assert environment.driver_version == "540.4.0"
    assert environment.is_jetson


def test_jetson_declared_by_environment_variables(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JETSON_MODULE", "NVIDIA Jetson AGX Orin")
    monkeypatch.setenv("L4T_VERSION", "36.3.0")
    environment = detect_environment()
    assert environment.jetson_type == "nvidia-jetson-agx-orin"
    assert environment.l4t_version == "36.3.0"
    assert environment.driver_version == "36.3.0"  # no driver file: the L4T version stands in, as upstream


def test_running_on_jetson_false_overrides_files(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine.files["/proc/device-tree/model"] = "NVIDIA Jetson Orin Nano Developer Kit"
    machine.files["/etc/nv_tegra_release"] = TEGRA_RELEASE
    monkeypatch.setenv("RUNNING_ON_JETSON", "false")
    environment = detect_environment()
    assert environment.jetson_type is None and environment.l4t_version is None and not environment.is_jetson


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JETSON_MODULE", "NVIDIA Jetson Banana", "is not a known Jetson module"),
        ("L4T_VERSION", "thirty-six", "is not a version"),
        ("RUNNING_ON_JETSON", "maybe", "is not a boolean"),
    ],
)
def test_bad_overrides_are_typed_errors(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidEnvironmentVariableError, match=message):
        detect_environment()


def test_detection_is_cached_until_refreshed(machine: FakeMachine) -> None:
    machine.distributions["torch"] = "2.7.0"
    first = describe_compute_environment()
    machine.distributions["torch"] = "2.8.0"
    assert describe_compute_environment() is first
    refreshed = describe_compute_environment(refresh=True)
    assert refreshed.torch_version == "2.8.0"
    assert describe_compute_environment() is refreshed


def test_broken_onnxruntime_reports_no_providers(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine.modules.add("onnxruntime")
    machine.distributions["onnxruntime-gpu"] = "1.20.1"

    def broken() -> list[str]:
        raise RuntimeError("libcudnn.so.9: cannot open shared object file")

    monkeypatch.setitem(
        sys.modules,
        "onnxruntime",
        _module("onnxruntime", __version__="1.20.1", get_available_providers=broken),
    )
    environment = detect_environment()
    assert environment.onnxruntime_version == "1.20.1"
    assert environment.onnx_execution_providers == ()
    assert not environment.onnxruntime_available


# --- parsers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [(DRIVER_X86, "570.133.20"), (DRIVER_JETSON, "540.4.0"), ("", None), (None, None)]
)
def test_parse_driver_version(text: str | None, expected: str | None) -> None:
    assert probes.parse_driver_version(text) == expected


def test_parse_tegra_release() -> None:
    assert probes.parse_tegra_release(TEGRA_RELEASE) == "36.4.3"
    assert probes.parse_tegra_release("# R35 (release), REVISION: 4.1, GCID: 1") == "35.4.1"
    assert probes.parse_tegra_release("garbage") is None


def test_parse_os_release() -> None:
    assert probes.parse_os_release(UBUNTU) == "ubuntu-22.04"
    assert probes.parse_os_release('ID=debian\nVERSION_ID="12"\n') == "debian-12"
    assert probes.parse_os_release("ID=arch\n") == "arch"
    assert probes.parse_os_release(None) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NVIDIA Jetson Orin NX Engineering Reference Developer Kit\x00", "nvidia-jetson-orin-nx"),
        ("NVIDIA Jetson Orin Nano Developer Kit", "nvidia-jetson-orin-nano"),
        ("NVIDIA Jetson AGX Xavier Industrial (32 GB ram)", "nvidia-jetson-agx-xavier-industrial"),
        ("NVIDIA Jetson AGX Xavier", "nvidia-jetson-agx-xavier"),
        ("nvidia-jetson-agx-orin", "nvidia-jetson-agx-orin"),
        ("NVIDIA Jetson Orin NXT", None),
        ("Raspberry Pi 4 Model B", None),
        (None, None),
    ],
)
def test_normalise_jetson_type(raw: str | None, expected: str | None) -> None:
    assert probes.normalise_jetson_type(raw) == expected


def test_upstream_version_strips_debian_parts() -> None:
    assert probes.upstream_version("10.12.0.36-1+cuda12.9") == "10.12.0.36"
    assert probes.upstream_version("1:2.3.4-0ubuntu1") == "2.3.4"
    assert probes.strip_local_version("2.7.0+cu128") == "2.7.0"
