"""Device strings: validation (``cpu``, ``cuda``, ``cuda:N``, ``mps``) and the default device of a machine."""

from __future__ import annotations

import re
from typing import Any

from inference_exp.errors import InvalidEnvironmentVariableError, InvalidParameterError
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.settings import env_str

_DEVICE = re.compile(r"(?P<type>cpu|cuda|mps)(?::(?P<index>\d+))?")


def parse_device(value: Any) -> str:
    """The canonical device string for ``value`` (a string or a ``torch.device``).

    Accepted: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` (case-insensitive, surrounding spaces ignored).
    ``cpu:0`` and ``mps:0`` are accepted and shortened to ``cpu`` / ``mps``.

    Raises:
        InvalidParameterError: anything else.
    """
    if not isinstance(value, str):
        # A torch.device prints as "cuda:1"; checked by shape so that torch is not imported here.
        if hasattr(value, "type") and hasattr(value, "index"):
            value = str(value)
        else:
            raise InvalidParameterError(
                f"device must be a string or a torch.device, not {type(value).__name__}.",
                hint="Use 'cpu', 'cuda', 'cuda:N' or 'mps'.",
            )
    match = _DEVICE.fullmatch(value.strip().lower())
    if match is None:
        raise InvalidParameterError(
            f"device {value!r} is not a device this library can use.",
            hint="Use 'cpu', 'cuda', 'cuda:N' or 'mps'.",
        )
    if match["type"] == "cuda" and match["index"] is not None:
        return f"cuda:{int(match['index'])}"
    return match["type"]


def device_type(device: str) -> str:
    """``"cuda:1"`` → ``"cuda"``."""
    return device.split(":", 1)[0]


def device_index(device: str) -> int | None:
    """``"cuda:1"`` → ``1``; ``None`` when the device names no index."""
    _, _, index = device.partition(":")
    return int(index) if index else None


def default_device(environment: RuntimeEnvironment) -> str:
    """``DEFAULT_DEVICE`` when set, else ``cuda`` when torch can use a GPU here, else ``cpu`` (never ``mps``).

    Raises:
        InvalidEnvironmentVariableError: ``DEFAULT_DEVICE`` is not a valid device.
    """
    explicit = env_str("DEFAULT_DEVICE")
    if explicit is not None:
        try:
            return parse_device(explicit)
        except InvalidParameterError:
            raise InvalidEnvironmentVariableError(
                f"DEFAULT_DEVICE={explicit!r} is not a device (use cpu, cuda, cuda:N or mps)."
            ) from None
    return "cuda" if environment.torch_cuda_available else "cpu"
