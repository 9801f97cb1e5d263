"""``inference-exp batch``: run a model over a folder of images with Ray Data and write one row per file."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from inference_exp.cli.options import (
    model_selection_options,
    postprocessing_options,
    postprocessing_params,
    selection_kwargs,
)
from inference_exp.errors import InvalidInputError, InvalidParameterError, ModelRuntimeError

ERRORS_SHOWN = 10


@click.command()
@click.argument("model")
@click.argument("input_dir", metavar="INPUT_DIR")
@click.option(
    "--output", "-o", required=True, help="Directory to write the predictions to (absent or empty)."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
    help="Parquet files, or JSON lines (files named *.json, one object per line).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Ray workers, each with its own model.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Images per model call."
)
@click.option(
    "--address",
    envvar="RAY_ADDRESS",
    show_envvar=True,
    help="Ray cluster to use (ray://HOST:10001, HOST:6379 or auto); default: start a local Ray instance.",
)
@model_selection_options
@postprocessing_options
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Classes kept per image by classifiers.",
)
def batch(
    model: str,
    input_dir: str,
    output: str,
    output_format: str,
    workers: int,
    batch_size: int,
    address: str | None,
    api_key: str | None,
    backend: tuple[str, ...],
    device: str | None,
    confidence: float | None,
    iou: float | None,
    max_detections: int | None,
    top_k: int,
) -> None:
    """Run MODEL (a model id, a package directory or an exported .onnx/.torchscript file) on every image under
    INPUT_DIR (searched recursively; a URI such as s3://bucket/images works too) with Ray Data.

    Writes one row per image file to --output (columns: see inference_exp.integrations.rows); files that
    cannot be decoded get a row with the reason in its `error` column. Prints a summary: rows, errors,
    images/s.
    """
    from inference_exp.integrations.ray import is_uri, predict_images, read_images_dataset

    if address is None and not is_uri(input_dir) and not Path(input_dir).is_dir():
        raise InvalidInputError(
            f"'{input_dir}' is not a directory.", hint="Pass the folder that holds the images."
        )
    _check_output(output)
    params = postprocessing_params(confidence, iou, max_detections)
    with _ray_session(address) as ray, _ray_errors(ray):
        predictions = predict_images(
            read_images_dataset(input_dir),
            model,
            workers=workers,
            batch_size=batch_size,
            params=params,
            top_k=top_k,
            **selection_kwargs(api_key, backend, device),
        )
        started = time.perf_counter()
        predictions = predictions.materialize()
        elapsed = time.perf_counter() - started
        target = output if is_uri(output) else os.path.abspath(output)
        if output_format == "parquet":
            predictions.write_parquet(target)
        else:
            predictions.write_json(target, double_precision=15, force_ascii=False)
        rows = predictions.count()
        errors, failed = _errors(predictions)
    for image_id, reason in failed:
        click.echo(f"  {image_id}: {reason}", err=True)
    if errors > len(failed):
        click.echo(f"  … {errors - len(failed)} more error row(s)", err=True)
    click.echo(
        f"{rows} row(s), {errors} error(s) written to {output} ({output_format}); "
        f"{rows / elapsed if elapsed > 0 else 0:.1f} images/s over {elapsed:.1f} s "
        f"({workers} worker(s), batch size {batch_size})"
    )


def _check_output(output: str) -> None:
    """Refuse a local output directory that already holds files (Ray would add new files next to them)."""
    from inference_exp.integrations.ray import is_uri

    path = Path(output)
    if is_uri(output):
        return
    if path.exists() and not path.is_dir():
        raise InvalidParameterError(f"--output '{output}' exists and is not a directory.")
    if path.is_dir() and any(path.iterdir()):
        raise InvalidParameterError(
            f"--output '{output}' is not empty.",
            hint="Choose a new directory or remove the old predictions first.",
        )


@contextmanager
def _ray_session(address: str | None) -> Iterator[Any]:
    """Ray connected to ``address``, or a local instance started (and shut down) here."""
    from inference_exp.integrations.ray import require_ray
    from inference_exp.settings import env_bool

    ray = require_ray()
    if address is None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private instance: no token needed
        ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING)
    else:
        ray.init(address=address, logging_level=logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = not env_bool(
        "DISABLE_INTERACTIVE_PROGRESS_BARS", False
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@contextmanager
def _ray_errors(ray: Any) -> Iterator[None]:
    """Turn a failed Ray job into a one-line library error (Ray's own text ends with the root cause)."""
    try:
        yield
    except ray.exceptions.RayError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise ModelRuntimeError(
            f"the Ray job failed: {lines[-1] if lines else type(error).__name__}",
            hint="Run with --debug for Ray's traceback.",
        ) from error


def _errors(predictions: Any) -> tuple[int, list[tuple[str, str]]]:
    """The number of error rows, and the first :data:`ERRORS_SHOWN` of them as ``(image_id, reason)``."""
    import pyarrow.compute as pc

    count, shown = 0, []
    for table in predictions.select_columns(["image_id", "error"]).iter_batches(batch_format="pyarrow"):
        failed = table.filter(pc.is_valid(table["error"]))
        count += failed.num_rows
        shown += [
            (row["image_id"], row["error"]) for row in failed.slice(0, ERRORS_SHOWN - len(shown)).to_pylist()
        ]
    return count, shown
