"""Image plumbing shared by the OCR families and pipeline: normalise once, crop on numpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from inference_exp.inputs import ColorFormat, NormalizedImage, normalize_images


def as_normalized(images: Any, input_color_format: ColorFormat | None, auto_orient: bool) -> list[NormalizedImage]:
    """``images`` as normalised images; already-normalised ones (a pipeline's) pass through unchanged."""
    if isinstance(images, NormalizedImage):
        return [images]
    if isinstance(images, Sequence) and images and all(isinstance(image, NormalizedImage) for image in images):
        return list(images)
    return normalize_images(images, input_color_format=input_color_format, auto_orient=auto_orient)


def hwc_uint8(image: NormalizedImage) -> np.ndarray:
    """The pixels of ``image`` as an HWC uint8 numpy array (its own channel order), for OpenCV."""
    if not image.is_tensor:
        return image.data
    import torch

    data = image.data
    if data.is_floating_point():
        data = (data * 255.0).round().clamp(0, 255).to(torch.uint8)
    return np.ascontiguousarray(data.permute(1, 2, 0).cpu().numpy())
