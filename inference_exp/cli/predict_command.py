"""``inference-exp predict``: run a model on images and report, save or annotate the predictions."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from inference_exp.cli.options import (
    model_selection_options,
    postprocessing_options,
    postprocessing_params,
    selection_kwargs,
)
from inference_exp.errors import InvalidInputError
from inference_exp.inputs.decode import IMAGE_SUFFIXES

SUMMARY_LIMIT = 10


@click.command()
@click.argument("model")
@click.argument("inputs", nargs=-1, required=True, metavar="IMAGE_OR_DIR...")
@model_selection_options
@postprocessing_options
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="Images per model call.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write annotated images and predictions.json here.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per image instead of a summary.")
def predict(
    model: str,
    inputs: tuple[str, ...],
    api_key: str | None,
    backend: tuple[str, ...],
    device: str | None,
    confidence: float | None,
    iou: float | None,
    max_detections: int | None,
    batch_size: int,
    out: Path | None,
    as_json: bool,
) -> None:
    """Run MODEL (a model id, a package directory or an exported .onnx/.torchscript file) on images.

    IMAGE_OR_DIR are image files or directories (searched recursively for images). Files that cannot be decoded
    are reported and skipped; the exit code is then 1.
    """
    from inference_exp import AutoModel
    from inference_exp.entities.per_image import predictions_per_image

    paths = collect_images(inputs)
    loaded = AutoModel.from_pretrained(model, **selection_kwargs(api_key, backend, device))
    params = postprocessing_params(confidence, iou, max_detections)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    names: set[str] = set()
    failed = 0
    with _progress(len(paths)) as bar:
        for chunk in _chunks(paths, batch_size):
            decoded = [_decode(path) for path in chunk]
            failed += sum(image is None for image in decoded)
            chunk = [path for path, image in zip(chunk, decoded, strict=True) if image is not None]
            images = [image for image in decoded if image is not None]
            if not images:
                continue
            groups = predictions_per_image(loaded(images, **params), len(chunk))
            for path, image, group in zip(chunk, images, groups, strict=True):
                record = {"image": str(path), "predictions": [_as_json(entity) for entity in group]}
                records.append(record)
                if as_json:
                    click.echo(json.dumps(record))
                else:
                    click.echo(f"{path}: {summarize(group)}")
                if out is not None:
                    _write_annotated(out, path, image, group, names)
            bar.update(len(chunk))
    if out is not None:
        (out / "predictions.json").write_text(json.dumps(records, indent=1))
        click.echo(f"wrote {len(records)} annotated image(s) and predictions.json to {out}", err=True)
    if failed:
        raise InvalidInputError(
            f"{failed} of {len(paths)} image(s) could not be read (see above).",
            hint="Fix or remove those files; the other images were processed.",
        )


def _decode(path: Path) -> Any:
    """The image at ``path`` as BGR pixels, or ``None`` (reported on stderr) when it cannot be decoded."""
    from inference_exp.inputs.decode import decode_file

    try:
        return decode_file(path, item=None)
    except InvalidInputError as error:
        click.echo(f"{path}: skipped: {error.message}", err=True)
        return None


def collect_images(inputs: Sequence[str]) -> list[Path]:
    """The image files named by ``inputs`` (directories searched recursively, sorted), in order.

    Raises:
        InvalidInputError: a path does not exist, or a directory holds no image.
    """
    paths: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InvalidInputError(f"directory '{path}' holds no image ({', '.join(sorted(IMAGE_SUFFIXES))})")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise InvalidInputError(f"'{path}' is neither an image file nor a directory", hint="Check the path.")
    return paths


def summarize(group: Sequence[Any]) -> str:
    """A one-line, human-readable summary of one image's predictions."""
    parts = [_summarize_entity(entity) for entity in group]
    return " | ".join(part for part in parts if part) or "nothing found"


def _summarize_entity(entity: Any) -> str:
    from inference_exp.entities import ClassificationPrediction, Detections, KeyPoints

    if isinstance(entity, ClassificationPrediction):
        return ", ".join(f"{name} {p:.3f}" for _, name, p in entity.top_k(3)[0])
    if isinstance(entity, KeyPoints):
        return f"{len(entity)} object(s) with {entity.xy.shape[1]} keypoints" if len(entity) else ""
    if isinstance(entity, Detections):
        arrays = entity.to_numpy()
        texts = getattr(entity, "texts", None)
        items = []
        for i in range(min(len(entity), SUMMARY_LIMIT)):
            box = ",".join(f"{v:.0f}" for v in arrays["xyxy"][i])
            label = repr(texts[i]) if texts is not None else arrays["class_name"][i]
            items.append(f"{label} {arrays['confidence'][i]:.2f} [{box}]")
        more = f", … {len(entity) - SUMMARY_LIMIT} more" if len(entity) > SUMMARY_LIMIT else ""
        return f"{len(entity)} detection(s): " + ", ".join(items) + more if len(entity) else ""
    return type(entity).__name__


def _as_json(entity: Any) -> dict[str, Any]:
    return {"type": type(entity).__name__, **entity.to_dict()}


def _write_annotated(out: Path, path: Path, image: Any, group: Sequence[Any], used: set[str]) -> None:
    import cv2

    from inference_exp.visualization import annotate_image

    name = path.stem + ".jpg"
    counter = 1
    while name in used:
        counter += 1
        name = f"{path.stem}_{counter}.jpg"
    used.add(name)
    cv2.imwrite(str(out / name), annotate_image(image, group))


def _chunks(paths: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(paths), size):
        yield paths[start : start + size]


def _progress(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="image", file=sys.stderr, disable=total < 2 or not sys.stderr.isatty(), leave=False)
