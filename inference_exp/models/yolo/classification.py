"""YOLOv8 / YOLO11 classification (``(B, C)`` head: logits, or probabilities when ``post_processing.fused``).

Pre-processing follows ``inference_config.json`` like every model, with one addition: Ultralytics' own
classification transform (``classify_transforms``), which no ``resize_mode`` expresses. A package selects it
with a top-level ``"classify_transform": "ultralytics"`` in ``inference_config.json`` (bare Ultralytics exports
get it automatically):

1. resize so that the shorter side equals the training size (the longer side ``int(size * long / short)``),
   with Pillow's antialiased bilinear filter (:mod:`.resample`, bit-exact with Pillow on uint8 images, numpy
   or torch; float tensors are resized in float on their device); a non-square training size is stretched to
   instead;
2. center crop to the training size (``top = round((h' - size) / 2)``, Python rounding);
3. the config's channel order, scaling and normalisation.

Static crop, grayscale and contrast steps cannot be combined with it (the package is rejected at load).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference_exp.errors import CorruptedModelPackageError
from inference_exp.inputs import normalize_images
from inference_exp.models.tasks import ClassificationModel, PackageContents
from inference_exp.models.yolo.resample import resize_antialiased
from inference_exp.packages.inference_config import INFERENCE_CONFIG_FILE, SoftmaxPostProcessing
from inference_exp.packages.package_files import read_json
from inference_exp.processing import ImageTransform, Preprocessor, Size, image_ops, tensor_ops

#: Top-level key of ``inference_config.json`` selecting a classification transform, and its accepted value.
CLASSIFY_TRANSFORM_KEY = "classify_transform"
ULTRALYTICS_CLASSIFY_TRANSFORM = "ultralytics"


def plan_resize_center_crop(height: int, width: int, target: Size) -> ImageTransform:
    """The transform of Ultralytics' ``classify_transforms``: shorter side to the (square) target, center crop.

    The crop is recorded as negative padding, so the usual coordinate mapping applies.
    """
    if target.height == target.width:
        short, long = min(height, width), max(height, width)
        scaled_long = int(target.height * long / short)
        new_h, new_w = (scaled_long, target.width) if height >= width else (target.height, scaled_long)
    else:
        new_h, new_w = target
    top, left = round((new_h - target.height) / 2), round((new_w - target.width) / 2)
    return ImageTransform(
        original_size=Size(height, width),
        crop_offset=(0, 0),
        size_after_crop=Size(height, width),
        scale_x=new_w / width,
        scale_y=new_h / height,
        pad_left=-left,
        pad_top=-top,
        pad_right=-(new_w - target.width - left),
        pad_bottom=-(new_h - target.height - top),
        network_size=target,
    )


class UltralyticsClassifyPreprocessor(Preprocessor):
    """:class:`Preprocessor` with Ultralytics' classification transform in place of the config's resize mode."""

    def __call__(  # type: ignore[override]
        self,
        images: Any,
        *,
        device: str | torch.device = "cpu",
        image_size: int | tuple[int, int] | None = None,
        input_color_format: str | None = None,
    ) -> tuple[torch.Tensor, list[ImageTransform]]:
        device = torch.device(device)
        target = self.target_size(image_size)
        prepared: list[tuple[np.ndarray | torch.Tensor, Any]] = []
        transforms: list[ImageTransform] = []
        for image in normalize_images(images, input_color_format=input_color_format, auto_orient=self.auto_orient):  # type: ignore[arg-type]
            data = image.data
            if isinstance(data, torch.Tensor) and data.dtype == torch.uint8:
                data = np.ascontiguousarray(data.permute(1, 2, 0).cpu().numpy())  # uint8: bit-exact with Pillow
            is_array = isinstance(data, np.ndarray)
            if not is_array:
                data = tensor_ops.as_float_image(data, device)
            transform = plan_resize_center_crop(image.height, image.width, target)
            resized = resize_antialiased(data, *transform.resized_size)
            ops = image_ops if is_array else tensor_ops
            prepared.append((ops.resize_and_pad(resized, transform, "center-crop", 0), image.color_format))
            transforms.append(transform)
        return self._assemble(prepared, transforms, device), transforms


class YoloClassification(ClassificationModel):
    """YOLOv8 / YOLO11 single-label classifier."""

    post_processing_types = (SoftmaxPostProcessing,)

    @classmethod
    def read_package(cls, directory: Path) -> PackageContents:
        package = super().read_package(directory)
        if _classify_transform(directory) is not None:
            steps = package.config.image_pre_processing
            enabled = [
                name
                for name, on in (
                    ("static-crop", steps.static_crop_enabled),
                    ("grayscale", steps.grayscale_enabled),
                    ("contrast", steps.contrast_type is not None),
                )
                if on
            ]
            if enabled:
                raise CorruptedModelPackageError(
                    f"{directory / INFERENCE_CONFIG_FILE}: the {ULTRALYTICS_CLASSIFY_TRANSFORM!r} classify transform "
                    f"cannot be combined with image_pre_processing steps ({', '.join(enabled)}).",
                )
        return package

    def build_preprocessor(self, package: PackageContents) -> Preprocessor:
        if _classify_transform(package.directory) is not None:
            return UltralyticsClassifyPreprocessor(package.config)
        return super().build_preprocessor(package)


def _classify_transform(directory: Path) -> str | None:
    """The package's ``classify_transform`` (``None`` when absent); an unknown value is a corrupted package."""
    path, raw = read_json(directory / INFERENCE_CONFIG_FILE)
    value = raw.get(CLASSIFY_TRANSFORM_KEY) if isinstance(raw, dict) else None
    if value is not None and value != ULTRALYTICS_CLASSIFY_TRANSFORM:
        raise CorruptedModelPackageError(
            f"{path}: {CLASSIFY_TRANSFORM_KEY} {value!r} is unknown; the only supported value is "
            f"{ULTRALYTICS_CLASSIFY_TRANSFORM!r}.",
        )
    return value

