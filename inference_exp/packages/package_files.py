"""Strict readers of the small files inside a model package.

Every reader raises :class:`~inference_exp.errors.CorruptedModelPackageError` naming the file and what is
wrong with it: missing, not UTF-8, not JSON, or not of the documented shape.

| file | reader | returns |
|---|---|---|
| ``class_names.txt`` | :func:`read_class_names` | class names, index = class id |
| ``keypoints_metadata.json`` | :func:`read_keypoints_metadata` | per-class keypoint names and skeleton |
| ``trt_config.json`` | :func:`read_trt_config` | TensorRT batch configuration |
| ``inference_config.json`` (``forward_pass`` only) | :func:`read_forward_pass` | batch facts |
| ``model_config.json`` | :func:`read_model_config` | library form or custom-code form |
| ``*.pt`` / ``*.pth`` | :func:`read_torch_weights` | a checkpoint, unpickling only when allowed |
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from inference_exp.errors import (
    CorruptedModelPackageError,
    UnknownBackendTypeError,
    UnknownQuantizationError,
    UnsafePackageContentError,
)
from inference_exp.packages.types import BackendType, Quantization, parse_backend, parse_quantization

CLASS_NAMES_FILE = "class_names.txt"
KEYPOINTS_METADATA_FILE = "keypoints_metadata.json"
TRT_CONFIG_FILE = "trt_config.json"
INFERENCE_CONFIG_FILE = "inference_config.json"
MODEL_CONFIG_FILE = "model_config.json"


def _corrupted(path: Path, problem: str) -> CorruptedModelPackageError:
    return CorruptedModelPackageError(f"{path}: {problem}.")


def _read_text(path: str | Path) -> tuple[Path, str]:
    path = Path(path)
    if not path.is_file():
        raise CorruptedModelPackageError(
            f"The model package is incomplete: {path.name} is missing from {path.parent}.",
        )
    try:
        return path, path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise _corrupted(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise _corrupted(path, f"cannot be read ({error.strerror or error})") from None


def read_json(path: str | Path) -> tuple[Path, Any]:
    """``(path, parsed JSON)``; a missing file or invalid JSON is a :class:`CorruptedModelPackageError`."""
    path, text = _read_text(path)
    try:
        return path, json.loads(text)
    except json.JSONDecodeError as error:
        raise _corrupted(
            path, f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- class_names.txt ---------------------------------------------------------------------------------------


def read_class_names(path: str | Path) -> tuple[str, ...]:
    """Class names, one per line; surrounding whitespace stripped, blank lines skipped (they take no id)."""
    path, text = _read_text(path)
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise _corrupted(path, "lists no class names")
    return names


# --- keypoints_metadata.json -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeypointsClassMetadata:
    """Keypoints of one object class.

    Attributes:
        class_id: the object class.
        keypoint_names: names ordered by keypoint index.
        edges: skeleton as ``(from, to)`` keypoint indices.
    """

    class_id: int
    keypoint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]


def read_keypoints_metadata(
    path: str | Path, *, class_count: int | None = None
) -> tuple[KeypointsClassMetadata, ...]:
    """Per-class keypoint metadata, ordered by class id.

    The file is a list with one entry per class; ids must be exactly ``0..n-1`` (and ``n == class_count`` when
    given); keypoint keys are integer strings ``0..k-1``; edge indices are ``< k``.
    """
    path, raw = read_json(path)
    if not isinstance(raw, list) or not raw:
        raise _corrupted(path, "must be a non-empty JSON list with one entry per object class")
    entries = [_keypoints_entry(path, index, entry) for index, entry in enumerate(raw)]
    entries.sort(key=lambda entry: entry.class_id)
    ids = [entry.class_id for entry in entries]
    if ids != list(range(len(entries))):
        raise _corrupted(
            path, f"object_class_id values must be 0..{len(entries) - 1} without gaps or repeats, got {ids}"
        )
    if class_count is not None and len(entries) != class_count:
        raise _corrupted(path, f"describes {len(entries)} classes but the model has {class_count}")
    return tuple(entries)


def _keypoints_entry(path: Path, index: int, entry: Any) -> KeypointsClassMetadata:
    where = f"entry {index}"
    if not isinstance(entry, Mapping):
        raise _corrupted(path, f"{where} is not an object")
    class_id = entry.get("object_class_id")
    if not _is_int(class_id) or class_id < 0:
        raise _corrupted(path, f"{where}: object_class_id must be a non-negative integer, got {class_id!r}")
    keypoints = entry.get("keypoints")
    if not isinstance(keypoints, Mapping):
        raise _corrupted(path, f"{where}: keypoints must be an object mapping index strings to names")
    by_index: dict[int, str] = {}
    for key, name in keypoints.items():
        if not (isinstance(key, str) and key.isdigit()) or not isinstance(name, str):
            raise _corrupted(
                path, f"{where}: keypoint {key!r}: {name!r} must map an integer string to a name"
            )
        by_index[int(key)] = name
    if sorted(by_index) != list(range(len(by_index))):
        raise _corrupted(
            path, f"{where}: keypoint indices must be 0..{len(by_index) - 1}, got {sorted(by_index)}"
        )
    edges_raw = entry.get("edges", [])
    if not isinstance(edges_raw, list):
        raise _corrupted(path, f"{where}: edges must be a list of {{from, to}} objects")
    edges = []
    for edge in edges_raw:
        ends = (edge.get("from"), edge.get("to")) if isinstance(edge, Mapping) else (None, None)
        if not all(_is_int(end) and 0 <= end < len(by_index) for end in ends):
            raise _corrupted(
                path, f"{where}: edge {edge!r} must join two keypoint indices below {len(by_index)}"
            )
        edges.append((ends[0], ends[1]))
    names = tuple(by_index[i] for i in range(len(by_index)))
    return KeypointsClassMetadata(class_id=class_id, keypoint_names=names, edges=tuple(edges))


# --- trt_config.json ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrtConfig:
    """Batch configuration of a TensorRT engine: a static batch, or a dynamic ``min ≤ opt ≤ max`` profile."""

    static_batch_size: int | None = None
    dynamic_batch_size_min: int | None = None
    dynamic_batch_size_opt: int | None = None
    dynamic_batch_size_max: int | None = None

    @property
    def is_dynamic(self) -> bool:
        return self.static_batch_size is None


def read_trt_config(path: str | Path) -> TrtConfig:
    """Either ``static_batch_size > 0`` (other keys ignored) or all three dynamic bounds with ``1 ≤ min ≤ opt ≤ max``."""
    path, raw = read_json(path)
    if not isinstance(raw, Mapping):
        raise _corrupted(path, "must be a JSON object")
    static = raw.get("static_batch_size")
    if static is not None:
        if not _is_int(static) or static < 1:
            raise _corrupted(path, f"static_batch_size must be a positive integer or null, got {static!r}")
        return TrtConfig(static_batch_size=static)
    keys = ("dynamic_batch_size_min", "dynamic_batch_size_opt", "dynamic_batch_size_max")
    bounds = [raw.get(key) for key in keys]
    if not all(_is_int(b) for b in bounds):
        raise _corrupted(
            path, f"without static_batch_size, {', '.join(keys)} must all be integers, got {bounds}"
        )
    low, opt, high = bounds
    if not 1 <= low <= opt <= high:
        raise _corrupted(
            path, f"dynamic batch bounds must satisfy 1 <= min <= opt <= max, got {low}, {opt}, {high}"
        )
    return TrtConfig(dynamic_batch_size_min=low, dynamic_batch_size_opt=opt, dynamic_batch_size_max=high)


# --- inference_config.json: forward_pass --------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardPass:
    """The ``forward_pass`` section: ``static_batch_size`` (fixed batch) and ``max_dynamic_batch_size``."""

    static_batch_size: int | None = None
    max_dynamic_batch_size: int | None = None


def read_forward_pass(path: str | Path) -> ForwardPass:
    """The ``forward_pass`` section of ``inference_config.json`` (absent → no batch facts)."""
    path, raw = read_json(path)
    if not isinstance(raw, Mapping):
        raise _corrupted(path, "must be a JSON object")
    section = raw.get("forward_pass") or {}
    if not isinstance(section, Mapping):
        raise _corrupted(path, "forward_pass must be an object")
    values = {}
    for key in ("static_batch_size", "max_dynamic_batch_size"):
        value = section.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            raise _corrupted(path, f"forward_pass.{key} must be a positive integer or null, got {value!r}")
        values[key] = value
    return ForwardPass(**values)


# --- model_config.json -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryModelConfig:
    """``model_config.json`` naming a registry implementation: ``{model_architecture, task_type, backend_type}``.

    Attributes:
        quantization: declared quantization (``unknown`` when absent).
        model_features: declared ``modelFeatures`` (e.g. ``nms_fused``), when present.
    """

    model_architecture: str
    task_type: str
    backend_type: BackendType
    quantization: Quantization = Quantization.UNKNOWN
    model_features: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CustomCodeModelConfig:
    """``model_config.json`` pointing at the package's own code: ``{model_module, model_class}``.

    Attributes:
        model_module: path of a ``.py`` file relative to the package directory.
        model_class: name of the class in it (with a ``from_pretrained(package_dir, options)`` classmethod).
    """

    model_module: str
    model_class: str


ModelConfig = LibraryModelConfig | CustomCodeModelConfig


def read_model_config(path: str | Path) -> ModelConfig:
    """Parse a local package's ``model_config.json`` (library form or custom-code form)."""
    path, raw = read_json(path)
    if not isinstance(raw, Mapping):
        raise _corrupted(path, "must be a JSON object")
    if "model_module" in raw or "model_class" in raw:
        return _custom_code_config(path, raw)
    missing = [key for key in ("model_architecture", "task_type", "backend_type") if not raw.get(key)]
    if missing:
        raise _corrupted(
            path,
            f"lacks {', '.join(missing)} (a library package needs model_architecture, task_type and backend_type; "
            "a custom-code package needs model_module and model_class)",
        )
    for key in ("model_architecture", "task_type"):
        if not isinstance(raw[key], str):
            raise _corrupted(path, f"{key} must be a string, got {raw[key]!r}")
    try:
        backend = parse_backend(raw["backend_type"])
        quantization = parse_quantization(raw.get("quantization") or Quantization.UNKNOWN)
    except (UnknownBackendTypeError, UnknownQuantizationError) as error:
        raise _corrupted(path, f"{error.message} {error.hint}".strip().rstrip(".")) from None
    features = raw.get("model_features")
    if features is not None and not isinstance(features, Mapping):
        raise _corrupted(path, f"model_features must be an object or null, got {features!r}")
    return LibraryModelConfig(
        model_architecture=raw["model_architecture"],
        task_type=raw["task_type"],
        backend_type=backend,
        quantization=quantization,
        model_features=dict(features) if features is not None else None,
    )


def _custom_code_config(path: Path, raw: Mapping[str, Any]) -> CustomCodeModelConfig:
    module, class_name = raw.get("model_module"), raw.get("model_class")
    if not isinstance(module, str) or not module.strip():
        raise _corrupted(path, "model_module must be the path of a .py file inside the package")
    if not isinstance(class_name, str) or not class_name.isidentifier():
        raise _corrupted(path, f"model_class must be a Python class name, got {class_name!r}")
    if PurePosixPath(module).suffix != ".py":
        raise _corrupted(path, f"model_module {module!r} must name a .py file")
    return CustomCodeModelConfig(model_module=module, model_class=class_name)


# --- torch checkpoints -------------------------------------------------------------------------------------


def read_torch_weights(
    path: str | Path, *, allow_pickled_weights: bool = False, map_location: Any = "cpu"
) -> Any:
    """Load a torch checkpoint (``.pt``/``.pth``) safely.

    Tensors, containers and primitive types load with ``torch.load(weights_only=True)``. A checkpoint that
    needs arbitrary unpickling (it could run code) loads only with ``allow_pickled_weights=True``.

    Raises:
        CorruptedModelPackageError: the file is missing or not a torch checkpoint.
        UnsafePackageContentError: the checkpoint needs full unpickling and that was not allowed.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise CorruptedModelPackageError(
            f"The model package is incomplete: {path.name} is missing from {path.parent}."
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if not allow_pickled_weights and not zipfile.is_zipfile(path):
            raise _corrupted(
                path,
                "not a torch checkpoint (or a legacy-format one with pickled objects, which loads only with "
                "allow_pickled_weights=True)",
            ) from None
        if not allow_pickled_weights:
            raise UnsafePackageContentError(
                f"{path}: the checkpoint contains pickled Python objects beyond tensors; unpickling it could run code.",
                hint="Pass allow_pickled_weights=True only if you trust whoever made the package.",
            ) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise _corrupted(path, f"not a readable torch checkpoint ({error})") from None
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:
        raise _corrupted(path, f"not a readable torch checkpoint ({type(error).__name__}: {error})") from None
