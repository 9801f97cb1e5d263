"""What this machine can run: detection of the runtime environment, devices and a readable report.

>>> from inference_exp.runtime import describe_compute_environment, format_environment
>>> print(format_environment(describe_compute_environment()))
"""

from __future__ import annotations

from inference_exp.runtime.detection import describe_compute_environment, detect_environment
from inference_exp.runtime.devices import default_device, parse_device
from inference_exp.runtime.environment import GpuDevice, RuntimeEnvironment
from inference_exp.runtime.extras import extras_for_backend
from inference_exp.runtime.summary import format_environment, missing_runtime_hints

__all__ = [
    "GpuDevice",
    "RuntimeEnvironment",
    "default_device",
    "describe_compute_environment",
    "detect_environment",
    "extras_for_backend",
    "format_environment",
    "missing_runtime_hints",
    "parse_device",
]
