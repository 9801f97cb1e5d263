"""``inference_config.json``: how a package wants its images pre-processed and its outputs decoded.

The format is described in ``model-packages.md`` §3. :func:`load_inference_config` reads the file and returns
an immutable :class:`InferenceConfig`; anything malformed raises
:class:`~inference_exp.errors.CorruptedModelPackageError` whose message names the file and the offending field
(JSON path, e.g. ``network_input.resize_mode``). Unknown keys are ignored at every level; JSON keys with dashes
(``auto-orient``, ``static-crop``) are read by their dashed name and exposed with underscores.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from inference_exp.errors import CorruptedModelPackageError
from inference_exp.packages.manifests import describe_validation_error

INFERENCE_CONFIG_FILE = "inference_config.json"

ResizeMode = Literal["stretch", "letterbox", "center-crop", "fit-longer-edge", "letterbox-reflect-edges"]
ColorMode = Literal["rgb", "bgr"]
ContrastType = Literal["Adaptive Equalization", "Contrast Stretching", "Histogram Equalization"]
CONTRAST_TYPES: tuple[str, ...] = ContrastType.__args__  # type: ignore[attr-defined]


class ConfigSection(BaseModel):
    """Base of every section: immutable, unknown keys ignored, fields readable by alias or by name."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


# --- image_pre_processing ----------------------------------------------------------------------------------


class Toggle(ConfigSection):
    """A transform that is only switched on or off (``auto-orient``, ``grayscale``)."""

    enabled: bool


class StaticCrop(ConfigSection):
    """``static-crop``: keep a window given in **percent** of the image size (0-100)."""

    enabled: bool
    x_min: float | None = Field(default=None, ge=0)
    y_min: float | None = Field(default=None, ge=0)
    x_max: float | None = Field(default=None, ge=0)
    y_max: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _window_is_complete(self) -> StaticCrop:
        if not self.enabled:
            return self
        bounds = (self.x_min, self.y_min, self.x_max, self.y_max)
        if any(value is None for value in bounds):
            raise ValueError("an enabled static crop needs x_min, y_min, x_max and y_max")
        if not (self.x_min < self.x_max and self.y_min < self.y_max):  # type: ignore[operator]
            raise ValueError(f"static crop window is empty: x {self.x_min}..{self.x_max}, y {self.y_min}..{self.y_max}")
        return self

    def window(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The crop ``(x0, y0, x1, y1)`` in pixels of a ``width`` x ``height`` image.

        ``x0 = int(x_min / 100 * width)`` etc., as the reference implementations compute it. Values above 100
        are clamped to the image (upstream documents pixel-looking values that the code reads as percent), and
        the window always keeps at least one pixel per axis.
        """
        x0 = min(int(self.x_min / 100 * width), width - 1)  # type: ignore[operator]
        y0 = min(int(self.y_min / 100 * height), height - 1)  # type: ignore[operator]
        x1 = min(max(int(self.x_max / 100 * width), x0 + 1), width)  # type: ignore[operator]
        y1 = min(max(int(self.y_max / 100 * height), y0 + 1), height)  # type: ignore[operator]
        return x0, y0, x1, y1


class Contrast(ConfigSection):
    """``contrast``: one of the three enhancement modes of :data:`ContrastType`."""

    enabled: bool
    type: str | None = None

    @model_validator(mode="after")
    def _type_is_known_when_enabled(self) -> Contrast:
        # A disabled section with an unknown type is harmless; only an enabled one must be something we can do.
        if self.enabled and self.type not in CONTRAST_TYPES:
            raise ValueError(f"contrast type {self.type!r} is not one of {', '.join(CONTRAST_TYPES)}")
        return self


class ImagePreProcessing(ConfigSection):
    """``image_pre_processing``: dataset-level transforms, applied as static crop → grayscale → contrast."""

    auto_orient: Toggle | None = Field(default=None, alias="auto-orient")
    static_crop: StaticCrop | None = Field(default=None, alias="static-crop")
    contrast: Contrast | None = None
    grayscale: Toggle | None = None

    @property
    def auto_orient_enabled(self) -> bool:
        """Whether files/bytes should be EXIF-oriented when decoded (on unless the config switches it off)."""
        return self.auto_orient is None or self.auto_orient.enabled

    @property
    def static_crop_enabled(self) -> bool:
        return self.static_crop is not None and self.static_crop.enabled

    @property
    def grayscale_enabled(self) -> bool:
        return self.grayscale is not None and self.grayscale.enabled

    @property
    def contrast_type(self) -> ContrastType | None:
        """The enabled contrast mode, or ``None``."""
        if self.contrast is None or not self.contrast.enabled:
            return None
        return self.contrast.type  # type: ignore[return-value]


# --- network_input -----------------------------------------------------------------------------------------


class ImageSize(ConfigSection):
    """A ``{"height": int, "width": int}`` pair."""

    height: PositiveInt
    width: PositiveInt


class PadToBeDivisible(ConfigSection):
    """Requested sizes are rounded **up** to a multiple of ``value``."""

    type: Literal["pad-to-be-divisible"]
    value: PositiveInt


class AnySize(ConfigSection):
    """Requested sizes are used as they are."""

    type: Literal["any-size"]


DynamicSpatialSizeMode = Annotated[PadToBeDivisible | AnySize, Field(discriminator="type")]


class NetworkInput(ConfigSection):
    """``network_input``: how the network tensor is built (§3.2)."""

    training_input_size: ImageSize
    dataset_version_resize_dimensions: ImageSize | None = None
    dynamic_spatial_size_supported: bool
    dynamic_spatial_size_mode: DynamicSpatialSizeMode | None = None
    color_mode: ColorMode
    resize_mode: ResizeMode
    padding_value: int | None = Field(default=None, ge=0, le=255)
    input_channels: int
    scaling_factor: float | None = Field(default=None, gt=0)
    normalization: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None

    @field_validator("color_mode", mode="before")
    @classmethod
    def _lower_case_color(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("input_channels")
    @classmethod
    def _three_channels(cls, value: int) -> int:
        if value != 3:
            raise ValueError(f"only 3-channel networks are supported, this one declares {value}")
        return value

    @field_validator("normalization")
    @classmethod
    def _finite_nonzero_std(cls, value: Any) -> Any:
        if value is None:
            return value
        means, stds = value
        if not all(math.isfinite(v) for v in (*means, *stds)) or any(std == 0 for std in stds):
            raise ValueError("normalization must be [[mean x3], [std x3]] with finite values and non-zero std")
        return value

    @property
    def fill_value(self) -> int:
        """The letterbox fill in 0-255 pixel units (``padding_value``; ``null`` means 0, black)."""
        return 0 if self.padding_value is None else self.padding_value


# --- forward_pass, post_processing, the rest ---------------------------------------------------------------


class ForwardPass(ConfigSection):
    """``forward_pass``: batch facts (§3.4)."""

    static_batch_size: PositiveInt | None = None
    max_dynamic_batch_size: PositiveInt | None = None


class NmsParameters(ConfigSection):
    """What a fused NMS baked into the graph (informational)."""

    max_detections: int | None = None
    confidence_threshold: float | None = None
    iou_threshold: float | None = None
    class_agnostic: bool | int | None = None


class NmsPostProcessing(ConfigSection):
    """``fused=false``: raw head, the client runs NMS; ``fused=true``: the graph output is already post-NMS."""

    type: Literal["nms"]
    fused: bool
    nms_parameters: NmsParameters | None = None


class SoftmaxPostProcessing(ConfigSection):
    """Single-label classification; ``fused=true`` means the outputs are already probabilities."""

    type: Literal["softmax"]
    fused: bool


class SigmoidPostProcessing(ConfigSection):
    """Multi-label classification; ``fused=true`` means the outputs are already probabilities."""

    type: Literal["sigmoid"]
    fused: bool


PostProcessing = Annotated[
    NmsPostProcessing | SoftmaxPostProcessing | SigmoidPostProcessing, Field(discriminator="type")
]


class ClassNameRemoval(ConfigSection):
    """Drop the predictions of ``class_name`` and re-index the remaining classes contiguously."""

    type: Literal["class_name_removal"]
    class_name: str


class InferenceConfig(ConfigSection):
    """The whole ``inference_config.json`` (``model-packages.md`` §3)."""

    image_pre_processing: ImagePreProcessing = Field(default_factory=ImagePreProcessing)
    network_input: NetworkInput
    forward_pass: ForwardPass = Field(default_factory=ForwardPass)
    post_processing: PostProcessing | None = None
    model_initialization: dict[str, Any] | None = None
    class_names_operations: tuple[ClassNameRemoval, ...] | None = None

    @field_validator("image_pre_processing", "forward_pass", mode="before")
    @classmethod
    def _null_means_empty(cls, value: Any) -> Any:
        return {} if value is None else value


def parse_inference_config(data: Any, *, source: str = INFERENCE_CONFIG_FILE) -> InferenceConfig:
    """Validate already-decoded JSON.

    Args:
        data: the decoded JSON document.
        source: how to name the file in error messages.

    Raises:
        CorruptedModelPackageError: ``data`` is not a valid inference config (the message names the field).
    """
    if not isinstance(data, Mapping):
        raise CorruptedModelPackageError(f"{source} must hold a JSON object, not {type(data).__name__}.")
    try:
        return InferenceConfig.model_validate(data)
    except ValidationError as error:
        raise CorruptedModelPackageError(f"{source} is invalid: {describe_validation_error(error)}.") from None


def load_inference_config(path: str | os.PathLike[str]) -> InferenceConfig:
    """Read and validate an ``inference_config.json`` file (or the one inside a package directory).

    Raises:
        CorruptedModelPackageError: the file is missing, unreadable, not JSON, or fails validation; the message
            names the file and the offending field.
    """
    file = Path(path)
    if file.is_dir():
        file = file / INFERENCE_CONFIG_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorruptedModelPackageError(f"The model package is incomplete: {file} does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptedModelPackageError(f"{file} cannot be read: {error}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CorruptedModelPackageError(
            f"{file} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    return parse_inference_config(data, source=str(file))
