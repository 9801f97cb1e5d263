"""Bare Ultralytics / YOLOv5 exports: ``AutoModel.from_pretrained("model.onnx")`` without a package directory.

Exporters embed what a loader needs: Ultralytics writes ``task``, ``names`` (a Python dict literal), ``imgsz``,
``stride``, ``batch``, ``kpt_shape``, ``end2end``, ``args`` … into the ONNX ``metadata_props`` and, as JSON, into
the ``config.txt`` of a TorchScript archive; YOLOv5 writes ``stride`` and ``names`` (plus ``shape`` in
TorchScript). From these facts :func:`describe_export` derives the architecture, task, class names, input size
and batch size, and :func:`bare_export_source` turns the file into a :class:`ModelSource` whose one synthesised
package is a small generated package directory in the cache (``<cache root>/bare-exports/<digest>/``: a link to
the weights, ``class_names.txt``, ``inference_config.json``, ``model_config.json`` and, for pose models,
``keypoints_metadata.json``). Nothing is written next to the user's file.

Processing is Ultralytics' default: letterbox to ``imgsz`` with grey (114) padding, RGB, ``/ 255``; classifiers
get Ultralytics' classification transform. Exports without a ``task`` but with ``names`` are YOLOv5 detectors
(objectness head). Tasks: ``detect``, ``segment``, ``pose``, ``classify``; ``end2end`` detection graphs without
NMS are YOLOv10's one-to-one head, other ``end2end`` or ``nms=True`` graphs are decoded as NMS-fused.

Importing this module registers the resolver with :func:`~inference_exp.weights_providers.local.register_path_resolver`.
The ONNX facts are read straight from the file's protobuf structure (:func:`read_onnx_facts`): the top-level
``metadata_props`` and the graph's input declaration, seeking over the weights, so that resolving a path needs
neither the ``onnx`` package nor an ONNX Runtime session.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from inference_exp import settings
from inference_exp.errors import CorruptedModelPackageError, ModelLoadingError
from inference_exp.packages.package_files import (
    CLASS_NAMES_FILE,
    INFERENCE_CONFIG_FILE,
    KEYPOINTS_METADATA_FILE,
    MODEL_CONFIG_FILE,
    LibraryModelConfig,
)
from inference_exp.packages.types import BackendType
from inference_exp.utils.logging import get_logger
from inference_exp.weights_providers import ModelSource
from inference_exp.weights_providers.local import library_package_source, register_path_resolver

logger = get_logger("weights_providers.bare_exports")

#: File suffixes this resolver handles, and their backends.
EXPORT_SUFFIXES = {".onnx": BackendType.ONNX, ".torchscript": BackendType.TORCH_SCRIPT}
ULTRALYTICS_TASKS = {
    "detect": "object-detection",
    "segment": "instance-segmentation",
    "pose": "keypoint-detection",
    "classify": "classification",
}
DEFAULT_INPUT_SIZE = 640
LETTERBOX_PADDING = 114
# Bump when the generated package layout changes, so that older generated directories are not reused.
_LAYOUT_VERSION = "1"
# Architectures whose classes decode the plain Ultralytics head (the others have their own layouts).
_ULTRALYTICS_HEAD_ARCHITECTURES = ("yolov8", "yolov9", "yolov11", "yolov12")


@dataclass(frozen=True)
class ExportDescription:
    """What a bare export is, as far as loading goes.

    Attributes:
        path: the export file.
        backend: from the file type.
        architecture: registry architecture name (``yolov8``, ``yolov5``, ``yolov10``, …).
        task: registry task name.
        class_names: index = class id.
        input_size: ``(height, width)`` of the network input.
        static_batch_size: images per call the graph requires (TorchScript traces); ``None``: dynamic / from the graph.
        keypoint_count: keypoints per object (pose models).
        nms_fused: the graph outputs post-NMS ``(B, N, 6 + extra)`` rows.
        size_divisor: for ONNX graphs with free height and width, the multiple (the model's stride) that a
            requested ``image_size`` is rounded up to; ``None``: the graph runs at ``input_size`` only.
    """

    path: Path
    backend: BackendType
    architecture: str
    task: str
    class_names: tuple[str, ...]
    input_size: tuple[int, int]
    static_batch_size: int | None = None
    keypoint_count: int | None = None
    nms_fused: bool = False
    size_divisor: int | None = None


# --- reading the embedded metadata -------------------------------------------------------------------------


@dataclass(frozen=True)
class OnnxFacts:
    """``metadata_props`` and the declared shape of the first non-initializer graph input (``None`` = symbolic)."""

    metadata: dict[str, str]
    input_shape: tuple[int | None, ...] | None


def _varint(stream: BinaryIO) -> int:
    result = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            raise EOFError("truncated varint")
        result |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(stream: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Protobuf fields in ``[start, end)`` as ``(number, wire type, value or length, payload offset)``.

    Length-delimited payloads are not read: the caller may seek to them; iteration seeks past them.
    """
    sizes = {0: 0, 1: 8, 5: 4}
    position = start
    while position < end:
        stream.seek(position)
        key = _varint(stream)
        number, wire = key >> 3, key & 7
        if wire == 2:
            value = _varint(stream)
            size = value
        elif wire in sizes:
            value = _varint(stream) if wire == 0 else 0
            size = sizes[wire]
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        offset = stream.tell()
        if offset + size > end:
            raise EOFError("field runs past its message")
        yield number, wire, value, offset
        position = offset + size


def _message(stream: BinaryIO, offset: int, length: int) -> io.BytesIO:
    stream.seek(offset)
    data = stream.read(length)
    if len(data) != length:
        raise EOFError("truncated message")
    return io.BytesIO(data)


def _strings(buffer: io.BytesIO, wanted: Mapping[int, str]) -> dict[str, str]:
    """The string fields ``wanted`` (number → name) of a small message."""
    found = {}
    for number, wire, length, offset in _fields(buffer, 0, len(buffer.getbuffer())):
        if wire == 2 and number in wanted:
            found[wanted[number]] = buffer.getvalue()[offset : offset + length].decode("utf-8", "replace")
    return found


def _tensor_shape(buffer: io.BytesIO) -> tuple[int | None, ...] | None:
    """ValueInfoProto → type (2) → tensor_type (1) → shape (2) → dims (1): dim_value (1) / dim_param (2)."""
    message = buffer
    for number in (2, 1, 2):  # type, tensor_type, shape
        inner = None
        for field, wire, length, offset in _fields(message, 0, len(message.getbuffer())):
            if field == number and wire == 2:
                inner = io.BytesIO(message.getvalue()[offset : offset + length])
        if inner is None:
            return None
        message = inner
    dims: list[int | None] = []
    for field, wire, length, offset in _fields(message, 0, len(message.getbuffer())):
        if field == 1 and wire == 2:
            dimension = io.BytesIO(message.getvalue()[offset : offset + length])
            value = next((v for f, w, v, _ in _fields(dimension, 0, length) if f == 1 and w == 0), None)
            dims.append(value if value is not None and value > 0 else None)
    return tuple(dims)


def read_onnx_facts(path: Path) -> OnnxFacts:
    """The metadata and input shape of an ONNX model file.

    Raises:
        CorruptedModelPackageError: the file is not a readable ONNX protobuf.
    """
    metadata: dict[str, str] = {}
    inputs: list[tuple[str, tuple[int | None, ...] | None]] = []
    initializers: set[str] = set()
    try:
        with path.open("rb") as stream:
            end = path.stat().st_size
            for number, wire, length, offset in _fields(stream, 0, end):
                if wire != 2:
                    continue
                if number == 14:  # ModelProto.metadata_props
                    entry = _strings(_message(stream, offset, length), {1: "key", 2: "value"})
                    metadata[entry.get("key", "")] = entry.get("value", "")
                elif number == 7:  # ModelProto.graph
                    for field, graph_wire, size, start in _fields(stream, offset, offset + length):
                        if graph_wire != 2:
                            continue
                        if field == 11:  # GraphProto.input
                            value_info = _message(stream, start, size)
                            name = _strings(value_info, {1: "name"}).get("name", "")
                            inputs.append((name, _tensor_shape(value_info)))
                        elif field == 5:  # GraphProto.initializer: only its name (field 8) is read
                            for tensor_field, tensor_wire, name_length, name_offset in _fields(stream, start, start + size):
                                if tensor_field == 8 and tensor_wire == 2:
                                    stream.seek(name_offset)
                                    initializers.add(stream.read(name_length).decode("utf-8", "replace"))
    except (OSError, EOFError, ValueError) as error:
        raise CorruptedModelPackageError(f"{path} is not a readable ONNX model: {error}.") from None
    shape = next((shape for name, shape in inputs if name not in initializers), None)
    return OnnxFacts(metadata=metadata, input_shape=shape)


def read_torchscript_config(path: Path) -> dict[str, Any] | None:
    """The JSON ``extra/config.txt`` an exporter stored in a TorchScript archive, or ``None``.

    Raises:
        CorruptedModelPackageError: the file is not a TorchScript (zip) archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            member = next((n for n in archive.namelist() if n.endswith("/extra/config.txt")), None)
            raw = archive.read(member) if member is not None else None
    except (OSError, zipfile.BadZipFile) as error:
        raise CorruptedModelPackageError(f"{path} is not a TorchScript archive: {error}.") from None
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return config if isinstance(config, dict) else None


# --- interpreting it ---------------------------------------------------------------------------------------


def _literal(value: Any) -> Any:
    """ONNX metadata values are strings holding Python literals; TorchScript configs hold JSON values."""
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def _class_names(raw: Any, path: Path) -> tuple[str, ...]:
    names = _literal(raw)
    if isinstance(names, Mapping):
        try:
            by_id = {int(key): str(value) for key, value in names.items()}
        except (TypeError, ValueError):
            by_id = {}
        if sorted(by_id) == list(range(len(by_id))) and by_id:
            return tuple(by_id[i] for i in range(len(by_id)))
    elif isinstance(names, (list, tuple)) and names:
        return tuple(str(name) for name in names)
    raise CorruptedModelPackageError(f"{path}: the embedded class names are not a list or a {{0: name, …}} dict.")


def _size(raw: Any) -> tuple[int, int] | None:
    value = _literal(raw)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    return None


def _family(description: Any) -> str | None:
    """``yolov8``, ``yolov11``, … from an Ultralytics description such as ``"Ultralytics YOLO11n-seg model"``."""
    match = re.search(r"YOLO\s*v?(\d+)", str(description or ""), flags=re.IGNORECASE)
    return f"yolov{match.group(1)}" if match else None


def describe_export(path: Path) -> ExportDescription | None:
    """What the export at ``path`` is, from its embedded metadata; ``None`` when it carries none we know.

    Raises:
        CorruptedModelPackageError: the file is unreadable or its metadata is malformed.
        ModelLoadingError: an Ultralytics task this library does not run (e.g. ``obb``).
    """
    backend = EXPORT_SUFFIXES[path.suffix.lower()]
    graph_shape: tuple[int | None, ...] | None = None
    if backend is BackendType.ONNX:
        facts = read_onnx_facts(path)
        metadata: Mapping[str, Any] = facts.metadata
        graph_shape = facts.input_shape
    else:
        metadata = read_torchscript_config(path) or {}
    if "names" not in metadata:
        return None
    names = _class_names(metadata["names"], path)
    declared_shape = _literal(metadata.get("shape"))  # YOLOv5 TorchScript: [batch, 3, height, width]
    if isinstance(declared_shape, (list, tuple)) and len(declared_shape) == 4:
        graph_shape = tuple(declared_shape)
    input_size = _size(metadata.get("imgsz"))
    if input_size is None and graph_shape is not None and len(graph_shape) == 4:
        input_size = _size([graph_shape[2], graph_shape[3]])
    input_size = input_size or (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE)
    batch = _literal(metadata.get("batch"))
    if batch is None and graph_shape is not None:
        batch = graph_shape[0]
    static_batch = batch if backend is BackendType.TORCH_SCRIPT and isinstance(batch, int) and batch > 0 else None
    stride = _literal(metadata.get("stride"))
    free_size = graph_shape is not None and len(graph_shape) == 4 and None in graph_shape[2:]
    divisor = (stride if isinstance(stride, int) and stride > 0 else 32) if free_size else None
    common = {"path": path, "backend": backend, "class_names": names, "input_size": input_size,
              "static_batch_size": static_batch, "size_divisor": divisor}
    if "task" not in metadata:  # YOLOv5's exporter writes stride and names only
        return ExportDescription(architecture="yolov5", task="object-detection", **common)
    ultralytics_task = str(metadata["task"])
    if ultralytics_task not in ULTRALYTICS_TASKS:
        raise ModelLoadingError(
            f"{path} is an Ultralytics '{ultralytics_task}' model; inference-exp runs "
            f"{', '.join(ULTRALYTICS_TASKS)} models.",
            hint="Export a detection, segmentation, pose or classification model.",
        )
    task = ULTRALYTICS_TASKS[ultralytics_task]
    family = _family(metadata.get("description"))
    arguments = _literal(metadata.get("args"))
    nms_in_graph = isinstance(arguments, Mapping) and arguments.get("nms") is True
    end_to_end = _literal(metadata.get("end2end")) is True or metadata.get("head") == "v10Detect"
    keypoints = None
    if task == "keypoint-detection":
        shape = _literal(metadata.get("kpt_shape"))
        if not (isinstance(shape, (list, tuple)) and len(shape) == 2 and all(isinstance(v, int) for v in shape)):
            raise CorruptedModelPackageError(f"{path}: a pose model needs kpt_shape [keypoints, 3] in its metadata.")
        if shape[1] != 3:
            raise ModelLoadingError(
                f"{path} predicts keypoints with {shape[1]} values each; inference-exp decodes (x, y, visibility).",
            )
        keypoints = shape[0]
    if task == "classification":
        architecture = "yolov11" if family == "yolov11" else "yolov8"
    elif task == "object-detection" and end_to_end and not nms_in_graph and family in ("yolov10", None):
        architecture = "yolov10"
    else:
        architecture = family if family in _ULTRALYTICS_HEAD_ARCHITECTURES else "yolov8"
    fused = architecture != "yolov10" and (nms_in_graph or end_to_end) and task != "classification"
    return ExportDescription(
        architecture=architecture, task=task, keypoint_count=keypoints, nms_fused=fused, **common
    )


# --- the generated package directory -----------------------------------------------------------------------


def package_files(description: ExportDescription) -> dict[str, Any]:
    """The package files (name → JSON document or text) that make ``description`` a regular package."""
    height, width = description.input_size
    classification = description.task == "classification"
    config: dict[str, Any] = {
        "network_input": {
            "training_input_size": {"height": height, "width": width},
            "dynamic_spatial_size_supported": description.size_divisor is not None,
            "dynamic_spatial_size_mode": (
                None if description.size_divisor is None
                else {"type": "pad-to-be-divisible", "value": description.size_divisor}
            ),
            "color_mode": "rgb",
            "resize_mode": "center-crop" if classification else "letterbox",
            "padding_value": LETTERBOX_PADDING,
            "input_channels": 3,
            "scaling_factor": 255,
        },
        "forward_pass": {"static_batch_size": description.static_batch_size},
        "post_processing": (
            {"type": "softmax", "fused": True} if classification else {"type": "nms", "fused": description.nms_fused}
        ),
    }
    if classification:
        from inference_exp.models.yolo.classification import (
            CLASSIFY_TRANSFORM_KEY,
            ULTRALYTICS_CLASSIFY_TRANSFORM,
        )

        config[CLASSIFY_TRANSFORM_KEY] = ULTRALYTICS_CLASSIFY_TRANSFORM
    files: dict[str, Any] = {
        CLASS_NAMES_FILE: "".join(f"{name}\n" for name in description.class_names),
        INFERENCE_CONFIG_FILE: config,
        MODEL_CONFIG_FILE: {
            "model_architecture": description.architecture,
            "task_type": description.task,
            "backend_type": description.backend.value,
        },
    }
    if description.keypoint_count is not None:
        keypoints = {str(i): str(i) for i in range(description.keypoint_count)}
        files[KEYPOINTS_METADATA_FILE] = [
            {"object_class_id": class_id, "keypoints": keypoints, "edges": []}
            for class_id in range(len(description.class_names))
        ]
    return files


def generated_package_dir(description: ExportDescription) -> Path:
    """The package directory for ``description`` under the cache root, created on first use.

    The directory is named after the export's absolute path, size and modification time, so an edited file gets
    a fresh package; it is assembled in a temporary directory and renamed into place.
    """
    path = description.path
    stat = path.stat()
    key = f"{_LAYOUT_VERSION}\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
    target = settings.cache_root() / "bare-exports" / hashlib.sha256(key.encode()).hexdigest()[:24]
    if (target / MODEL_CONFIG_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        _link_weights(path.resolve(), staging / f"weights{path.suffix.lower()}")
        for name, content in package_files(description).items():
            text = content if isinstance(content, str) else json.dumps(content, indent=1)
            (staging / name).write_text(text, encoding="utf-8")
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / MODEL_CONFIG_FILE).is_file():  # not a concurrent winner: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _link_weights(source: Path, link: Path) -> None:
    """Point the package's weights file at the export: a symlink, else a hard link, else a copy."""
    for make_link in (os.symlink, os.link):
        try:
            make_link(source, link)
            return
        except (OSError, NotImplementedError):
            continue
    shutil.copyfile(source, link)


# --- the resolver ------------------------------------------------------------------------------------------


def bare_export_source(path: Path, *, allow_local_code_packages: bool) -> ModelSource | None:
    """The :class:`ModelSource` of a bare ``.onnx`` / ``.torchscript`` export, or ``None`` for other paths."""
    if not path.is_file() or path.suffix.lower() not in EXPORT_SUFFIXES:
        return None
    description = describe_export(path)
    if description is None:
        logger.info("%s carries no Ultralytics / YOLOv5 metadata (no 'names'); not loading it as a bare export.", path)
        return None
    directory = generated_package_dir(description)
    config = LibraryModelConfig(
        model_architecture=description.architecture,
        task_type=description.task,
        backend_type=description.backend,
    )
    return library_package_source(str(path), directory, config)


register_path_resolver(bare_export_source)
