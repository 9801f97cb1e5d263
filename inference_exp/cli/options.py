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


def postprocessing_options(command: F) -> F:
    """``--confidence``, ``--iou``, ``--max-detections`` (the model's defaults when unset)."""
    command = click.option("--max-detections", type=click.IntRange(min=1), help="At most this many detections per image.")(command)
    command = click.option("--iou", type=click.FloatRange(0, 1), help="NMS IoU threshold (model default if unset).")(command)
    command = click.option(
        "--confidence", type=click.FloatRange(0, 1), help="Confidence threshold (model default if unset)."
    )(command)
    return command


def postprocessing_params(confidence: float | None, iou: float | None, max_detections: int | None) -> dict[str, Any]:
    """The model keyword arguments for the options the user set (unset ones keep the model's defaults)."""
    given = {"confidence": confidence, "iou_threshold": iou, "max_detections": max_detections}
    return {name: value for name, value in given.items() if value is not None}
