"""Settings read from environment variables, parsed strictly and read at call time (not at import).

Variable names follow the Roboflow clients so that existing deployments keep working.

| variable | default | meaning |
|---|---|---|
| ``INFERENCE_HOME`` | ``$XDG_CACHE_HOME/inference-exp`` (``~/.cache/inference-exp``) | cache root |
| ``ROBOFLOW_API_KEY`` | — | API key used when ``api_key`` is not passed |
| ``ROBOFLOW_API_HOST`` | derived from ``ROBOFLOW_ENVIRONMENT`` | weights API origin |
| ``ROBOFLOW_ENVIRONMENT`` | ``prod`` | anything else selects the staging API |
| ``OFFLINE_MODE`` | ``false`` | never touch the network; serve models from the cache only |
| ``DEFAULT_DEVICE`` | ``cuda`` when available, else ``cpu`` | device used when ``device`` is not passed |
| ``ONNXRUNTIME_EXECUTION_PROVIDERS`` | CUDA, OpenVINO, CoreML, CPU | preferred ONNX Runtime providers, in order |
| ``AUTO_LOADER_CACHE_EXPIRATION_MINUTES`` | ``1440`` | lifetime of cached package decisions |
| ``CACHE_LOCK_TIMEOUT`` | ``300`` | seconds a cache waiter tolerates a lock holder that shows no progress |
| ``DISABLE_INTERACTIVE_PROGRESS_BARS`` | ``false`` | never draw download progress bars |

Network settings (``API_CALLS_TIMEOUT``, ``API_CALLS_MAX_TRIES``, ``IDEMPOTENT_API_REQUEST_CODES_TO_RETRY``,
``API_CALLS_BACKOFF_FACTOR``, ``API_CALLS_MAX_RETRY_AFTER``, ``DOWNLOAD_READ_TIMEOUT``) are described in
:mod:`inference_exp.utils.http`.
"""

from __future__ import annotations

import os
from pathlib import Path

from inference_exp.errors import InvalidEnvironmentVariableError

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

DEFAULT_ONNX_EXECUTION_PROVIDERS = (
    "CUDAExecutionProvider",
    "OpenVINOExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable (true/false, 1/0, yes/no, on/off; case-insensitive)."""
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidEnvironmentVariableError(f"{name}={value!r} is not a boolean (use true or false).")


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    """A number variable, optionally bounded below."""
    value = env_str(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise InvalidEnvironmentVariableError(f"{name}={value!r} is not a number.") from None
    if minimum is not None and number < minimum:
        raise InvalidEnvironmentVariableError(f"{name}={value!r} must be at least {minimum:g}.")
    return number


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer variable, optionally bounded below."""
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidEnvironmentVariableError(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise InvalidEnvironmentVariableError(f"{name}={value!r} must be at least {minimum}.")
    return number


def env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list variable (surrounding ``[ ]`` and quotes tolerated)."""
    value = env_str(name)
    if value is None:
        return default
    items = value.strip("[]").split(",")
    return tuple(item.strip().strip("'\"") for item in items if item.strip().strip("'\""))


def cache_root() -> Path:
    """The cache root: ``INFERENCE_HOME``, else ``$XDG_CACHE_HOME/inference-exp``, else ``~/.cache/inference-exp``."""
    explicit = env_str("INFERENCE_HOME")
    if explicit is not None:
        return Path(explicit).expanduser().absolute()
    base = env_str("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base).expanduser() / "inference-exp").absolute()


def api_key(explicit: str | None = None) -> str | None:
    """The API key to use: the explicit one, else ``ROBOFLOW_API_KEY``, else ``None`` (public models)."""
    return explicit or env_str("ROBOFLOW_API_KEY")


def offline_mode() -> bool:
    """Whether ``OFFLINE_MODE`` forbids network access."""
    return env_bool("OFFLINE_MODE", False)


def onnx_execution_providers() -> tuple[str, ...]:
    """The preferred ONNX Runtime execution providers, most preferred first."""
    return env_list("ONNXRUNTIME_EXECUTION_PROVIDERS", DEFAULT_ONNX_EXECUTION_PROVIDERS)
