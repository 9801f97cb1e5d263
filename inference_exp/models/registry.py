"""Which class implements (architecture, task, backend): one table, imported lazily.

Each entry names its class as ``"module.path:ClassName"`` (imported only when a package is loaded) and lists
the package ``modelFeatures`` keys the class understands (e.g. ``nms_fused``): a package declaring a feature
its entry does not support is rejected by the negotiation; a feature listed as *required* must be declared.

Model families add their rows to :data:`_BUILTIN_ENTRIES`; plugins and tests call :func:`register_model`.
Architecture names are the weights service's strings (``yolov11``, ``yolonas``); common spellings
(``yolo11``, ``yolo-nas``) are normalised by :func:`normalise_architecture`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from inference_exp.errors import InvalidParameterError, ModelImplementationNotFoundError
from inference_exp.models.base import Model
from inference_exp.packages.types import BackendType, parse_backend

# Alternative spellings → the weights service's architecture name.
ARCHITECTURE_ALIASES = {
    "yolo8": "yolov8",
    "yolo9": "yolov9",
    "yolo10": "yolov10",
    "yolo11": "yolov11",
    "yolo12": "yolov12",
    "yolov26": "yolo26",
    "yolo-nas": "yolonas",
    "yolo_nas": "yolonas",
    "rf-detr": "rfdetr",
    "deeplabv3plus": "deep-lab-v3-plus",
    "deeplab-v3-plus": "deep-lab-v3-plus",
    "dinov3-probe": "dinov3_probe",
}


@dataclass(frozen=True)
class RegistryEntry:
    """One implementation.

    Attributes:
        target: ``"module.path:ClassName"``, or the class itself (plugins, tests).
        supported_features: ``modelFeatures`` keys a package may declare.
        required_features: ``modelFeatures`` keys a package must declare.
    """

    target: str | type[Model]
    supported_features: frozenset[str] = frozenset()
    required_features: frozenset[str] = frozenset()

    def feature_problem(self, features: Iterable[str]) -> str | None:
        """Why a package declaring ``features`` cannot use this entry, or ``None`` when it can."""
        declared = set(features)
        unsupported = sorted(declared - self.supported_features - self.required_features)
        missing = sorted(self.required_features - declared)
        problems = []
        if unsupported:
            problems.append(f"declares model features it does not support: {', '.join(unsupported)}")
        if missing:
            problems.append(f"lacks required model features: {', '.join(missing)}")
        return "; ".join(problems) or None


RegistryKey = tuple[str, str, BackendType]

# The built-in table: ((architecture, task, backend), entry). Model families add their rows here.
_YOLO = "inference_exp.models.yolo"
_ONNX, _TORCH_SCRIPT = BackendType.ONNX, BackendType.TORCH_SCRIPT
_NMS_FUSED = frozenset({"nms_fused"})
_ULTRALYTICS_TASKS = {
    "object-detection": f"{_YOLO}.ultralytics:YoloV8ObjectDetection",
    "instance-segmentation": f"{_YOLO}.ultralytics:YoloV8InstanceSegmentation",
    "keypoint-detection": f"{_YOLO}.ultralytics:YoloV8KeyPointsDetection",
}
_BUILTIN_ENTRIES: tuple[tuple[RegistryKey, RegistryEntry], ...] = (
    *(
        ((architecture, task, backend), RegistryEntry(target, supported_features=_NMS_FUSED))
        for architecture in ("yolov8", "yolov9", "yolov11", "yolov12")
        for task, target in _ULTRALYTICS_TASKS.items()
        for backend in (_ONNX, _TORCH_SCRIPT)
    ),
    *(
        ((architecture, "classification", _ONNX), RegistryEntry(f"{_YOLO}.classification:YoloClassification"))
        for architecture in ("yolov8", "yolov11")
    ),
    *(
        (("yolov5", "object-detection", backend), RegistryEntry(f"{_YOLO}.yolov5:YoloV5ObjectDetection"))
        for backend in (_ONNX, _TORCH_SCRIPT)
    ),
    *(
        (("yolov10", "object-detection", backend), RegistryEntry(f"{_YOLO}.yolov10:YoloV10ObjectDetection"))
        for backend in (_ONNX, _TORCH_SCRIPT)
    ),
    # PaddleOCR text detection / recognition (the OCR pipeline joins them: inference_exp.models.ppocr).
    (
        ("pp-ocrv4-det", "object-detection", BackendType.ONNX),
        RegistryEntry("inference_exp.models.ppocr.detection:PPOCRTextDetection"),
    ),
    (
        ("pp-ocrv4-rec", "text-only-ocr", BackendType.ONNX),
        RegistryEntry("inference_exp.models.ppocr.recognition:PPOCRTextRecognition"),
    ),
)

_registry: dict[RegistryKey, RegistryEntry] = dict(_BUILTIN_ENTRIES)


def normalise_architecture(architecture: str) -> str:
    """The registry's name for ``architecture`` (lower-cased, aliases such as ``yolo11`` → ``yolov11``)."""
    key = architecture.strip().lower()
    return ARCHITECTURE_ALIASES.get(key, key)


def normalise_task(task: str | None) -> str:
    """The registry's name for ``task`` (lower-cased; ``None`` → ``""``)."""
    return (task or "").strip().lower()


def _key(architecture: str, task: str | None, backend: str | BackendType) -> RegistryKey:
    return normalise_architecture(architecture), normalise_task(task), parse_backend(backend)


def register_model(
    architecture: str,
    task: str,
    backend: str | BackendType,
    target: str | type[Model],
    supported_features: Iterable[str] = (),
    *,
    required_features: Iterable[str] = (),
) -> None:
    """Register (or replace) the implementation of (architecture, task, backend).

    Args:
        target: ``"module.path:ClassName"`` (imported on first use) or a :class:`Model` subclass.
        supported_features: ``modelFeatures`` keys packages may declare (e.g. ``("nms_fused",)``).
        required_features: ``modelFeatures`` keys packages must declare.

    Raises:
        InvalidParameterError: ``target`` is neither such a string nor a Model subclass.
    """
    if isinstance(target, str):
        module, sep, name = target.partition(":")
        if not (module and sep and name):
            raise InvalidParameterError(f"Model target {target!r} must look like 'package.module:ClassName'.")
    elif not (isinstance(target, type) and issubclass(target, Model)):
        raise InvalidParameterError(
            f"Model target {target!r} is neither 'module:ClassName' nor a Model subclass."
        )
    _registry[_key(architecture, task, backend)] = RegistryEntry(
        target=target,
        supported_features=frozenset(supported_features),
        required_features=frozenset(required_features),
    )


def unregister_model(architecture: str, task: str, backend: str | BackendType) -> None:
    """Remove an entry added with :func:`register_model` (no error when absent)."""
    _registry.pop(_key(architecture, task, backend), None)


def registry_entry(architecture: str, task: str | None, backend: str | BackendType) -> RegistryEntry | None:
    """The entry for (architecture, task, backend), or ``None``."""
    return _registry.get(_key(architecture, task, backend))


def has_implementation(
    architecture: str, task: str | None, backend: str | BackendType, features: Iterable[str] = ()
) -> bool:
    """Whether a class is registered for the triple and accepts a package declaring ``features``."""
    entry = registry_entry(architecture, task, backend)
    return entry is not None and entry.feature_problem(features) is None


def registered_models() -> Mapping[RegistryKey, RegistryEntry]:
    """A read-only view of the whole table."""
    return MappingProxyType(_registry)


def resolve_model_class(architecture: str, task: str | None, backend: str | BackendType) -> type[Model]:
    """Import and return the class registered for (architecture, task, backend).

    Raises:
        ModelImplementationNotFoundError: nothing is registered, or the target cannot be imported or is not a
            :class:`Model` subclass.
        MissingDependencyError: the implementation needs an optional package that is not installed.
    """
    key = _key(architecture, task, backend)
    entry = _registry.get(key)
    if entry is None:
        raise ModelImplementationNotFoundError(
            f"inference-exp has no implementation of architecture {key[0]!r}, task {key[1] or None!r} "
            f"for backend {key[2].value!r}."
        )
    if not isinstance(entry.target, str):
        return entry.target
    module_name, _, class_name = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:  # MissingDependencyError (an ImportError) passes through untouched
        raise ModelImplementationNotFoundError(
            f"The implementation {entry.target!r} of {key[0]}/{key[1]}/{key[2].value} cannot be imported: {error}."
        ) from error
    model_class = getattr(module, class_name, None)
    if not (isinstance(model_class, type) and issubclass(model_class, Model)):
        raise ModelImplementationNotFoundError(
            f"{entry.target!r} (registered for {key[0]}/{key[1]}/{key[2].value}) is not a Model subclass."
        )
    return model_class
