"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def model_selection_options(command: F) -> F:
    """``--api-key``, ``--backend``, ``--device`` (the arguments of ``AutoModel`` that choose a package)."""
    command = click.option("--device", help="cpu, cuda or cuda:N (default: DEFAULT_DEVICE, else cuda if available).")(command)
    command = click.option(
        "--backend",
        multiple=True,
        help="Allowed backend (repeat for a preference order): onnx, trt, torch, torch-script, hf.",
    )(command)
    command = click.option(
        "--api-key", envvar="ROBOFLOW_API_KEY", show_envvar=True, help="Roboflow API key (never printed)."
    )(command)
    return command


def selection_kwargs(api_key: str | None, backend: tuple[str, ...], device: str | None) -> dict[str, Any]:
    """The ``AutoModel`` keyword arguments for the options of :func:`model_selection_options`."""
    return {"api_key": api_key, "backend": list(backend) or None, "device": device}
