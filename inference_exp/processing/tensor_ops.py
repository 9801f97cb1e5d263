"""Pre-processing steps on torch images (CHW float32 with values in 0..255), on the image's own device.

The same steps as :mod:`inference_exp.processing.image_ops`, in torch so that GPU pipelines stay on the GPU.
Values stay float (no rounding to uint8 between steps), so results are close to, not bit-identical with, the
OpenCV path. The one exception to staying on the device is ``Adaptive Equalization``: CLAHE has no torch
implementation here, so that image makes a round trip through the OpenCV implementation on the CPU.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from inference_exp.inputs import ColorFormat
from inference_exp.packages.inference_config import ContrastType, ResizeMode
from inference_exp.processing import image_ops
from inference_exp.processing.transforms import ImageTransform

_LUMA_RGB = (0.299, 0.587, 0.114)


def crop(image: torch.Tensor, window: tuple[int, int, int, int]) -> torch.Tensor:
    """The ``(x0, y0, x1, y1)`` window of a CHW ``image`` (a view)."""
    x0, y0, x1, y1 = window
    return image[:, y0:y1, x0:x1]


def to_grayscale(image: torch.Tensor, color_format: ColorFormat) -> torch.Tensor:
    """Luminance (``0.299 R + 0.587 G + 0.114 B`` in the image's real channel order) in all 3 channels."""
    weights = _LUMA_RGB if color_format == "rgb" else _LUMA_RGB[::-1]
    luma = torch.tensordot(torch.tensor(weights, dtype=image.dtype, device=image.device), image, dims=1)
    return luma.unsqueeze(0).expand(3, -1, -1)


def enhance_contrast(image: torch.Tensor, contrast_type: ContrastType) -> torch.Tensor:
    """Apply one of the contrast modes (semantics as in :mod:`~inference_exp.processing.image_ops`), float result."""
    if contrast_type == "Contrast Stretching":
        low, high = _percentile(image, 2.0), _percentile(image, 98.0)
        if high > low:
            return (image.clamp(low, high) - low) * (255.0 / (high - low))
        return torch.full_like(image, min(max(low, 0.0), 255.0))
    if contrast_type == "Histogram Equalization":
        return _equalize_histogram(image)
    if contrast_type == "Adaptive Equalization":
        hwc = image.permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        equalized = image_ops.enhance_contrast(hwc, contrast_type)
        return torch.from_numpy(equalized).to(image.device).permute(2, 0, 1).to(image.dtype)
    raise ValueError(f"unknown contrast type {contrast_type!r}")


def _percentile(image: torch.Tensor, q: float) -> float:
    """``np.percentile(image, q)`` (linear method) without sorting the whole image."""
    flat = image.reshape(-1)
    position = q / 100 * (flat.numel() - 1)
    lower = int(position)
    fraction = position - lower
    a = float(torch.kthvalue(flat, lower + 1).values)
    b = float(torch.kthvalue(flat, min(lower + 2, flat.numel())).values) if fraction else a
    return b - (b - a) * (1 - fraction) if fraction >= 0.5 else a + (b - a) * fraction


def _equalize_histogram(image: torch.Tensor) -> torch.Tensor:
    # float64 and numpy's bin edges, so that values sitting on an edge fall into the same bin as in numpy
    values = image.to(torch.float64) / 255.0
    low, high = float(values.min()), float(values.max())
    if low == high:  # numpy widens an empty range the same way
        low, high = low - 0.5, high + 0.5
    edges = torch.from_numpy(np.linspace(low, high, 257)).to(image.device)
    bins = (torch.searchsorted(edges, values.reshape(-1), right=True) - 1).clamp(0, 255)
    hist = torch.bincount(bins, minlength=256).to(torch.float64)
    centers = (edges[:-1] + edges[1:]) / 2
    cdf = hist.cumsum(0) / hist.sum()
    return (_interp(values, centers, cdf) * 255.0).to(image.dtype)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """``np.interp`` for increasing ``xp``: linear between points, constant beyond the ends."""
    right = torch.searchsorted(xp, x.reshape(-1), right=True).clamp(1, xp.numel() - 1)
    left = right - 1
    t = ((x.reshape(-1) - xp[left]) / (xp[right] - xp[left])).clamp(0.0, 1.0)
    return (fp[left] + (fp[right] - fp[left]) * t).reshape(x.shape)


def resize_and_pad(image: torch.Tensor, transform: ImageTransform, mode: ResizeMode, fill: int) -> torch.Tensor:
    """Resize (bilinear, ``align_corners=False``, no antialias) and pad / crop to ``transform.network_size``.

    Borders as in :func:`inference_exp.processing.image_ops.resize_and_pad` (reflect-101 for
    ``letterbox-reflect-edges``, repeated when wider than the image).
    """
    height, width = transform.resized_size
    if image.shape[1] != height or image.shape[2] != width:
        image = F.interpolate(
            image.unsqueeze(0), size=(height, width), mode="bilinear", align_corners=False, antialias=False
        ).squeeze(0)
    top, bottom, left, right = transform.pad_top, transform.pad_bottom, transform.pad_left, transform.pad_right
    if min(top, bottom, left, right) < 0:
        image = image[:, max(-top, 0) : height - max(-bottom, 0), max(-left, 0) : width - max(-right, 0)]
        top, bottom, left, right = max(top, 0), max(bottom, 0), max(left, 0), max(right, 0)
    if not (top or bottom or left or right):
        return image
    if mode == "letterbox-reflect-edges":
        rows = reflect_101_indices(image.shape[1], top, bottom, image.device)
        columns = reflect_101_indices(image.shape[2], left, right, image.device)
        return image.index_select(1, rows).index_select(2, columns)
    value = float(fill) if mode == "letterbox" else 0.0
    return F.pad(image, (left, right, top, bottom), mode="constant", value=value)


def reflect_101_indices(length: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """Source indices of an axis of ``length`` padded by reflection without repeating the edge (OpenCV
    ``BORDER_REFLECT_101``), for any padding width."""
    positions = torch.arange(-before, length + after, device=device)
    if length == 1:
        return torch.zeros_like(positions)
    period = 2 * (length - 1)
    folded = positions % period
    return torch.where(folded >= length, period - folded, folded)


def as_float_image(image: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A CHW uint8 or 0..1 float tensor as float32 0..255 on ``device``."""
    image = image.to(device)
    if image.dtype == torch.uint8:
        return image.to(torch.float32)
    return image.to(torch.float32) * 255.0


def numpy_image_to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """An HWC uint8 numpy image as a CHW float32 0..255 tensor on ``device`` (uploaded as uint8)."""
    return torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1).to(torch.float32)
