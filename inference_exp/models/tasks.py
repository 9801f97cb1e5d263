"""Task base classes: the load plumbing and ``pre_process → forward → post_process`` flow every single-network
vision model shares, so that a model family only decodes its output layout.

Class names follow the Roboflow clients:

| class | ``infer`` returns |
|---|---|
| :class:`ObjectDetectionModel` | ``list[Detections]``, one per image |
| :class:`InstanceSegmentationModel` | ``list[InstanceDetections]``, one per image |
| :class:`KeyPointsDetectionModel` | ``(list[KeyPoints], list[Detections])`` |
| :class:`ClassificationModel` | one :class:`ClassificationPrediction` for the batch |
| :class:`MultiLabelClassificationModel` | ``list[MultiLabelClassificationPrediction]``, one per image |

Loading (:meth:`TaskModel.from_pretrained`) reads ``class_names.txt`` and ``inference_config.json`` (plus
``keypoints_metadata.json`` for keypoint models), builds the pre-processor and opens the backend's runner with
:func:`~inference_exp.backends.factory.open_runner`. :meth:`TaskModel.forward` feeds the runner in chunks: a
graph with a static batch size gets exactly that many images per call (the last chunk zero-padded, the padding's
outputs dropped); a dynamic one gets at most ``forward_pass.max_dynamic_batch_size``.

Per-call keyword parameters are resolved by :func:`resolve_parameters`: the gen B names (``confidence``,
``iou_threshold``, ``max_detections``, ``class_agnostic_nms``, ``key_points_threshold``), the gen A aliases
(``conf_thresh``, ``iou_thresh``, ``class_agnostic``), defaults, range checks; an unknown keyword is an
:class:`~inference_exp.errors.InvalidParameterError` naming the accepted ones. ``input_color_format`` and
``image_size`` go to pre-processing.

A family subclasses one task class and implements :meth:`decode` (detection tasks: per image, the kept
detections in network pixels) or uses the task's default (classification).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, get_args

import torch

from inference_exp.entities import (
    ClassificationPrediction,
    Detections,
    InstanceDetections,
    KeyPoints,
    MultiLabelClassificationPrediction,
)
from inference_exp.errors import CorruptedModelPackageError, InvalidParameterError, ModelRuntimeError
from inference_exp.models.base import LoadOptions, Model
from inference_exp.packages.inference_config import (
    InferenceConfig,
    NmsPostProcessing,
    ResizeMode,
    SigmoidPostProcessing,
    SoftmaxPostProcessing,
    load_inference_config,
)
from inference_exp.packages.package_files import (
    CLASS_NAMES_FILE,
    KEYPOINTS_METADATA_FILE,
    KeypointsClassMetadata,
    read_class_names,
    read_keypoints_metadata,
)
from inference_exp.packages.types import BackendType
from inference_exp.processing import (
    ImageTransform,
    Preprocessor,
    Selection,
    build_preprocessor,
    class_probabilities,
    instance_masks_with_presence,
    keypoints_to_original,
    run_in_chunks,
)
from inference_exp.utils.logging import get_logger

if TYPE_CHECKING:
    from inference_exp.backends.base import Runner

logger = get_logger("models")

# --- per-call parameters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """A keyword parameter of post-processing.

    Attributes:
        name: the canonical (gen B) name.
        default: used when the caller omits it or passes ``None`` (or, for numbers, ``"default"``).
        check: ``check(keyword, value)`` validates and returns the value to use.
        aliases: other accepted names (gen A).
    """

    name: str
    default: Any
    check: Callable[[str, Any], Any]
    aliases: tuple[str, ...] = ()


def fraction(keyword: str, value: Any) -> float:
    """A number within 0..1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise InvalidParameterError(f"{keyword} must be a number within 0..1, not {value!r}.")
    return float(value)


def positive_int(keyword: str, value: Any) -> int:
    """An integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(f"{keyword} must be a positive integer, not {value!r}.")
    return value


def flag(keyword: str, value: Any) -> bool:
    """``True`` or ``False``."""
    if not isinstance(value, bool):
        raise InvalidParameterError(f"{keyword} must be True or False, not {value!r}.")
    return value


CONFIDENCE = Parameter("confidence", 0.25, fraction, aliases=("conf_thresh",))
IOU_THRESHOLD = Parameter("iou_threshold", 0.45, fraction, aliases=("iou_thresh",))
MAX_DETECTIONS = Parameter("max_detections", 100, positive_int)
CLASS_AGNOSTIC_NMS = Parameter("class_agnostic_nms", False, flag, aliases=("class_agnostic",))
KEY_POINTS_THRESHOLD = Parameter("key_points_threshold", 0.0, fraction)
MULTI_LABEL_CONFIDENCE = Parameter("confidence", 0.5, fraction, aliases=("conf_thresh",))

#: Keywords of :meth:`TaskModel.pre_process`, accepted by ``infer`` next to the post-processing parameters.
PRE_PROCESSING_PARAMETERS = ("input_color_format", "image_size")


def resolve_parameters(given: Mapping[str, Any], accepted: Sequence[Parameter]) -> dict[str, Any]:
    """The value of every accepted parameter for one call (by canonical name).

    Args:
        given: the caller's keywords (canonical names or aliases).
        accepted: the parameters the model takes.

    Raises:
        InvalidParameterError: an unknown keyword (the message lists the accepted ones), a parameter given twice
            under two names, or a value out of range.
    """
    by_keyword = {keyword: parameter for parameter in accepted for keyword in (parameter.name, *parameter.aliases)}
    unknown = sorted(set(given) - set(by_keyword))
    if unknown:
        names = [
            f"{p.name} (alias {', '.join(p.aliases)})" if p.aliases else p.name for p in accepted
        ] + list(PRE_PROCESSING_PARAMETERS)
        raise InvalidParameterError(
            f"Unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}.",
            hint=f"This model accepts: {', '.join(names)}.",
        )
    values: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for keyword, value in given.items():
        parameter = by_keyword[keyword]
        if parameter.name in seen:
            raise InvalidParameterError(f"{seen[parameter.name]} and {keyword} set the same parameter; pass one.")
        seen[parameter.name] = keyword
        if value is None or (value == "default" and isinstance(value, str)):
            continue
        values[parameter.name] = parameter.check(keyword, value)
    return {parameter.name: values.get(parameter.name, parameter.default) for parameter in accepted}


# --- the package a task model loads ------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageContents:
    """What a task model reads from its package directory (besides the weights).

    Attributes:
        directory: the package directory.
        class_names: ``class_names.txt``, index = class id.
        config: ``inference_config.json``.
        keypoints: ``keypoints_metadata.json`` (keypoint models only), ordered by class id.
    """

    directory: Path
    class_names: tuple[str, ...]
    config: InferenceConfig
    keypoints: tuple[KeypointsClassMetadata, ...] | None = None


class TaskModel(Model):
    """Shared plumbing of single-network vision models (see the module docstring).

    Class attributes a family may set:
        parameters: the post-processing keywords ``infer`` / ``post_process`` accept.
        post_processing_types: the ``post_processing`` sections (by class) this family can decode; ``None`` in
            the config is always accepted. Anything else is a :class:`CorruptedModelPackageError` at load.
        resize_mode_substitutes: resize modes this family cannot run → ``(mode, padding_value)`` used instead
            (with a warning at load).
    """

    parameters: ClassVar[tuple[Parameter, ...]] = ()
    post_processing_types: ClassVar[tuple[type, ...]] = (
        NmsPostProcessing,
        SoftmaxPostProcessing,
        SigmoidPostProcessing,
    )
    resize_mode_substitutes: ClassVar[Mapping[str, tuple[ResizeMode, int | None]]] = {}

    def __init__(self, package: PackageContents, runner: Runner, options: LoadOptions) -> None:
        self.package = package
        self.config = package.config
        self.runner = runner
        self.options = options
        self.preprocessor = self.build_preprocessor(package)
        # ONNX Runtime reads host memory (it uploads by itself); other runners take tensors on their device.
        self.input_device = torch.device("cpu") if options.backend is BackendType.ONNX else runner.device
        self._check_input_size()

    # --- loading ---------------------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, package_dir: str | Path, options: LoadOptions) -> TaskModel:
        """Load the package in ``package_dir`` for ``options.backend`` (see the module docstring).

        Raises:
            CorruptedModelPackageError: a required file is missing or malformed, or the config does not fit the
                family or the network.
            MissingDependencyError: the backend's runtime is not installed.
        """
        from inference_exp.backends.factory import open_runner

        package = cls.read_package(Path(package_dir))
        runner = open_runner(package.directory, options, input_shape=_declared_input_shape(package.config))
        return cls(package, runner, options)

    @classmethod
    def read_package(cls, directory: Path) -> PackageContents:
        """Read and check the package files this task needs (weights excepted)."""
        class_names = read_class_names(directory / CLASS_NAMES_FILE)
        config = load_inference_config(directory)
        post_processing = config.post_processing
        if post_processing is not None and not isinstance(post_processing, cls.post_processing_types):
            accepted = ", ".join(repr(get_args(t.model_fields["type"].annotation)[0]) for t in cls.post_processing_types)
            raise CorruptedModelPackageError(
                f"{directory / 'inference_config.json'}: post_processing type {post_processing.type!r} does not fit "
                f"{cls.__name__} (expected {accepted}).",
            )
        return PackageContents(directory=directory, class_names=class_names, config=config)

    def build_preprocessor(self, package: PackageContents) -> Preprocessor:
        """The pre-processor of this model (the config's, with this family's resize-mode substitutions)."""
        mode = package.config.network_input.resize_mode
        substitute = self.resize_mode_substitutes.get(mode)
        if substitute is None:
            return build_preprocessor(package.config)
        logger.warning(
            "%s cannot run resize mode %r; using %r with padding %s instead.", type(self).__name__, mode, *substitute
        )
        return build_preprocessor(package.config, resize_mode=substitute[0], padding_value=substitute[1])

    def _check_input_size(self) -> None:
        fixed = self.runner.input_hw
        size = self.config.network_input.training_input_size
        if fixed is not None and fixed != (size.height, size.width):
            raise CorruptedModelPackageError(
                f"{self.package.directory}: the network takes {fixed[1]}x{fixed[0]} (w x h) images but "
                f"inference_config.json declares a training size of {size.width}x{size.height}.",
                hint="Fix network_input.training_input_size in inference_config.json.",
            )

    # --- the flow --------------------------------------------------------------------------------------------

    @property
    def class_names(self) -> Sequence[str]:
        return self.package.class_names

    @property
    def device(self) -> torch.device:
        """Where predictions are returned."""
        return self.runner.device

    def pre_process(
        self, images: Any, *, input_color_format: str | None = None, image_size: int | tuple[int, int] | None = None
    ) -> tuple[torch.Tensor, list[ImageTransform]]:
        """Images → ``(NCHW float32 batch, one transform per image)``.

        Args:
            images: anything :func:`~inference_exp.inputs.normalize_images` accepts.
            input_color_format: ``"rgb"`` / ``"bgr"`` channel order of numpy/tensor inputs (default: BGR for
                numpy, RGB for tensors).
            image_size: network size for this call (int or ``(w, h)``; dynamic-size packages only).
        """
        return self.preprocessor(
            images, device=self.input_device, image_size=image_size, input_color_format=input_color_format  # type: ignore[arg-type]
        )

    def forward(self, batch: torch.Tensor) -> list[torch.Tensor]:
        """The network's raw outputs for ``batch``, run in chunks the network accepts."""
        static = self.runner.static_batch_size
        largest = None if static is not None else self.config.forward_pass.max_dynamic_batch_size
        return run_in_chunks(self.runner, batch, static_batch_size=static, max_batch_size=largest)

    def post_process(self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], **params: Any) -> Any:
        """Raw outputs → predictions (keywords: :attr:`parameters`, see :func:`resolve_parameters`)."""
        values = self.resolve(params)
        with _serial_torch(self.device):
            return self.predictions(raw, transforms, values)

    def infer(self, images: Any, **params: Any) -> Any:
        """``post_process(forward(pre_process(images)))``; keywords are split between pre- and post-processing.

        Parameters are checked before anything runs, so a typo fails fast.
        """
        pre = {name: params.pop(name) for name in PRE_PROCESSING_PARAMETERS if name in params}
        values = self.resolve(params)
        batch, transforms = self.pre_process(images, **pre)
        raw = self.forward(batch)
        with _serial_torch(self.device):
            return self.predictions(raw, transforms, values)

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The post-processing parameter values of one call."""
        return resolve_parameters(params, self.parameters)

    @abstractmethod
    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> Any:
        """Raw outputs → this task's prediction objects, with resolved parameter ``values``."""


@contextmanager
def _serial_torch(device: torch.device) -> Iterator[None]:
    """Run torch single-threaded on the CPU for the duration (post-processing).

    Post-processing works on small tensors that gain nothing from torch's thread pool, and right after a forward
    pass that pool only fights the runtime's own worker threads, which still spin for a moment: decoding the
    masks of 45 instances takes ~9 ms single-threaded against ~15-40 ms with two torch threads on two cores.
    The previous thread count is restored afterwards (switching costs well under a microsecond).
    """
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _declared_input_shape(config: InferenceConfig) -> tuple[int | None, int, int | None, int | None]:
    """The input shape the package declares, for runtimes that do not record it (TorchScript)."""
    network = config.network_input
    height, width = network.training_input_size.height, network.training_input_size.width
    spatial = (None, None) if network.dynamic_spatial_size_supported else (height, width)
    return (config.forward_pass.static_batch_size, 3, *spatial)


# --- detection tasks ---------------------------------------------------------------------------------------


class _DetectionTask(TaskModel):
    """Tasks whose predictions start from boxes: a family implements :meth:`decode` for its layout."""

    parameters = (CONFIDENCE, IOU_THRESHOLD, MAX_DETECTIONS, CLASS_AGNOSTIC_NMS)

    @abstractmethod
    def decode(self, raw: list[torch.Tensor], values: Mapping[str, Any]) -> list[Selection]:
        """Per image, the kept detections in network pixels, best first (extras: this task's extra columns)."""

    def extra_columns(self, raw: list[torch.Tensor]) -> int:
        """How many values per detection follow the box, score and class (mask coefficients, keypoints)."""
        return 0

    def detection_output(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """The output holding the detections: the first 3-D one."""
        return output_of_rank(raw, 3, "detections")

    def _detections(
        self, selection: Selection, transform: ImageTransform, entity: type[Detections] = Detections, **fields: Any
    ) -> Detections:
        return entity(
            xyxy=transform.boxes_to_original(selection.boxes),
            class_id=selection.class_ids,
            confidence=selection.scores.to(torch.float32),
            class_names=self.class_names,
            image_metadata=transform.to_metadata(),
            **fields,
        )


class ObjectDetectionModel(_DetectionTask):
    """Boxes with a class and a score: ``infer`` returns one :class:`Detections` per image."""

    task = "object-detection"

    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> list[Detections]:
        selections = self.decode(raw, values)
        return [self._detections(s, t) for s, t in zip(selections, transforms, strict=True)]


class InstanceSegmentationModel(_DetectionTask):
    """Boxes with a mask each, YOLO-seg style (coefficients @ prototypes): one :class:`InstanceDetections`
    per image, masks at the original size (ultralytics' ``retina_masks`` quality). A detection whose mask is empty
    inside its box is dropped, as the reference implementation does."""

    task = "instance-segmentation"

    def prototypes(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """The ``(B, M, Hp, Wp)`` mask prototypes among the raw outputs: the first 4-D one."""
        return output_of_rank(raw, 4, "mask prototypes")

    def extra_columns(self, raw: list[torch.Tensor]) -> int:
        return int(self.prototypes(raw).shape[1])

    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> list[InstanceDetections]:
        selections, prototypes = self.decode(raw, values), self.prototypes(raw)
        results = []
        for index, (selection, transform) in enumerate(zip(selections, transforms, strict=True)):
            coefficients = _extras(selection, prototypes.shape[1])
            masks, kept = instance_masks_with_presence(
                prototypes[index], coefficients, selection.boxes, transform, method="native"
            )
            if not bool(kept.all()):
                selection, masks = _subset(selection, kept), masks[kept]
            results.append(self._detections(selection, transform, InstanceDetections, mask=masks))
        return results


class KeyPointsDetectionModel(_DetectionTask):
    """Boxes with keypoints: ``infer`` returns ``(list[KeyPoints], list[Detections])``, one of each per image.

    The keypoint slots of each class, their names and skeleton come from ``keypoints_metadata.json``; slots beyond
    a detection's class count, and keypoints whose confidence is below ``key_points_threshold`` (default 0: all
    are reported), are zeroed.
    """

    task = "keypoint-detection"
    parameters = (*_DetectionTask.parameters, KEY_POINTS_THRESHOLD)

    @classmethod
    def read_package(cls, directory: Path) -> PackageContents:
        package = super().read_package(directory)
        keypoints = read_keypoints_metadata(
            directory / KEYPOINTS_METADATA_FILE, class_count=len(package.class_names)
        )
        return replace(package, keypoints=keypoints)

    @property
    def keypoints_metadata(self) -> tuple[KeypointsClassMetadata, ...]:
        return self.package.keypoints or ()

    @property
    def keypoints_per_class(self) -> list[int]:
        """Number of keypoints of each class."""
        return [len(entry.keypoint_names) for entry in self.keypoints_metadata]

    @property
    def keypoint_slots(self) -> int:
        """Keypoint slots per detection in the network output (the largest class count)."""
        return max(self.keypoints_per_class, default=0)

    def extra_columns(self, raw: list[torch.Tensor]) -> int:
        return 3 * self.keypoint_slots

    @property
    def skeletons(self) -> list[list[tuple[int, int]]]:
        """Per class, the skeleton edges as ``(from, to)`` keypoint indices."""
        return [list(entry.edges) for entry in self.keypoints_metadata]

    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> tuple[list[KeyPoints], list[Detections]]:
        keypoints, detections = [], []
        names = [list(entry.keypoint_names) for entry in self.keypoints_metadata]
        for selection, transform in zip(self.decode(raw, values), transforms, strict=True):
            slots = _extras(selection, 3 * self.keypoint_slots).reshape(-1, self.keypoint_slots, 3)
            xy, confidence = keypoints_to_original(
                slots,
                transform,
                confidence_threshold=values["key_points_threshold"],
                class_ids=selection.class_ids,
                keypoints_per_class=self.keypoints_per_class,
            )
            detection = self._detections(selection, transform)
            detections.append(detection)
            keypoints.append(
                KeyPoints(
                    xy=xy,
                    confidence=confidence,
                    class_id=selection.class_ids,
                    class_names=self.class_names,
                    keypoint_names=names,
                    skeletons=self.skeletons,
                    image_metadata=detection.image_metadata,
                )
            )
        return keypoints, detections


def output_of_rank(raw: Sequence[torch.Tensor], rank: int, what: str) -> torch.Tensor:
    """The first of the raw outputs with ``rank`` dimensions."""
    for output in raw:
        if output.dim() == rank:
            return output
    shapes = ", ".join(str(tuple(o.shape)) for o in raw)
    raise ModelRuntimeError(f"The network returned no {rank}-D output for the {what} (outputs: {shapes}).")


def _extras(selection: Selection, columns: int) -> torch.Tensor:
    """The selection's extra columns, checked to number ``columns`` (an empty ``(0, columns)`` when none)."""
    extras = selection.extras
    if extras is None:
        extras = selection.boxes.new_zeros((len(selection), 0))
    if extras.shape[1] != columns:
        raise ModelRuntimeError(
            f"The network gives {extras.shape[1]} extra values per detection where the package describes {columns}.",
            hint="Check that class_names.txt and keypoints_metadata.json belong to these weights.",
        )
    return extras


def _subset(selection: Selection, keep: torch.Tensor) -> Selection:
    return Selection(
        boxes=selection.boxes[keep],
        scores=selection.scores[keep],
        class_ids=selection.class_ids[keep],
        extras=None if selection.extras is None else selection.extras[keep],
        indices=selection.indices[keep],
    )


# --- classification ----------------------------------------------------------------------------------------


class _ClassificationTask(TaskModel):
    post_processing_types = (SoftmaxPostProcessing, SigmoidPostProcessing)

    def probabilities(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """``(B, C)`` class probabilities from the first output (the config's softmax / sigmoid unless fused)."""
        scores = raw[0]
        if scores.dim() != 2 or scores.shape[1] != len(self.class_names):
            raise ModelRuntimeError(
                f"The classification head gives shape {tuple(scores.shape)}; expected (batch, "
                f"{len(self.class_names)}) for the {len(self.class_names)} classes of class_names.txt.",
                hint="Check that class_names.txt belongs to these weights.",
            )
        return class_probabilities(
            scores, self.config.post_processing, multi_label=isinstance(self, MultiLabelClassificationModel)
        )


class ClassificationModel(_ClassificationTask):
    """Single-label classification: ``infer`` returns one :class:`ClassificationPrediction` for the batch."""

    task = "classification"

    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> ClassificationPrediction:
        probabilities = self.probabilities(raw)
        confidence, class_id = probabilities.max(dim=1)
        return ClassificationPrediction(
            class_id=class_id,
            confidence=confidence,
            probabilities=probabilities,
            class_names=self.class_names,
            images_metadata=[t.to_metadata() for t in transforms],
        )


class MultiLabelClassificationModel(_ClassificationTask):
    """Multi-label classification: one :class:`MultiLabelClassificationPrediction` per image with the classes
    whose probability is at least ``confidence`` (default 0.5)."""

    task = "multi-label-classification"
    parameters = (MULTI_LABEL_CONFIDENCE,)

    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> list[MultiLabelClassificationPrediction]:
        results = []
        for row, transform in zip(self.probabilities(raw), transforms, strict=True):
            class_ids = torch.nonzero(row >= values["confidence"]).flatten()
            results.append(
                MultiLabelClassificationPrediction(
                    class_ids=class_ids,
                    confidence=row[class_ids],
                    probabilities=row,
                    class_names=self.class_names,
                    image_metadata=transform.to_metadata(),
                )
            )
        return results


__all__ = [
    "CLASS_AGNOSTIC_NMS",
    "CONFIDENCE",
    "IOU_THRESHOLD",
    "KEY_POINTS_THRESHOLD",
    "MAX_DETECTIONS",
    "MULTI_LABEL_CONFIDENCE",
    "PRE_PROCESSING_PARAMETERS",
    "ClassificationModel",
    "InstanceSegmentationModel",
    "KeyPointsDetectionModel",
    "MultiLabelClassificationModel",
    "ObjectDetectionModel",
    "PackageContents",
    "Parameter",
    "TaskModel",
    "flag",
    "fraction",
    "output_of_rank",
    "positive_int",
    "resolve_parameters",
]
