"""Antialiased bilinear resizing with Pillow's arithmetic, without Pillow.

Ultralytics' classification pre-processing (torchvision ``Resize`` on a PIL image) resizes with Pillow's
``BILINEAR`` filter, which widens the triangle filter when shrinking (antialiasing). OpenCV's ``INTER_LINEAR``
and ``torch.nn.functional.interpolate`` do not, so their results differ by far more than a classifier's
tolerance. This module reproduces Pillow's resampler (``libImaging/Resample.c``):

* per output position ``i`` along an axis: ``center = (i + 0.5) * in / out``, ``filterscale = max(in / out, 1)``,
  support ``filterscale``; taps ``xmin = int(center - support + 0.5)`` .. ``int(center + support + 0.5)``
  (clamped to the image), weights ``triangle((x - center + 0.5) / filterscale)`` normalised to sum 1;
* uint8 images: weights as fixed point with 22 fractional bits, accumulation from ``2**21`` (rounding), shift
  and clamp to 0..255 after each pass;
* two separable passes, each skipped when that axis keeps its size; horizontal first unless the height shrinks
  by more than twice as many pixels as the width (Pillow >= 13 then resizes vertically first; older Pillow always
  went horizontal first, which can move a few pixels by one level in those cases).

For uint8 numpy images the result is bit-identical to ``PIL.Image.resize(size, Image.BILINEAR)``. Float torch
images (CHW) use the same weights without fixed point (Pillow's float-image arithmetic).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

_PRECISION_BITS = 32 - 8 - 2
_ROUNDING = 1 << (_PRECISION_BITS - 1)


class _Taps(NamedTuple):
    """Per output position: ``k`` input indices and their weights (zero weight on padding taps)."""

    indices: np.ndarray  # (out, k) int64
    weights: np.ndarray  # (out, k) float64, each row sums to 1
    fixed: np.ndarray  # (out, k) int64, weights * 2**22 rounded half away from zero


@lru_cache(maxsize=32)
def _taps(in_size: int, out_size: int) -> _Taps:
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = filterscale  # the bilinear (triangle) filter has support 1
    inverse = 1.0 / filterscale
    width = math.ceil(support) * 2 + 1
    centers = (np.arange(out_size) + 0.5) * scale
    first = np.maximum(np.trunc(centers - support + 0.5), 0).astype(np.int64)
    count = np.minimum(np.trunc(centers + support + 0.5).astype(np.int64), in_size) - first
    offsets = np.arange(width)
    positions = first[:, None] + offsets[None, :]
    weights = np.maximum(1.0 - np.abs((positions - centers[:, None] + 0.5) * inverse), 0.0)
    weights[offsets[None, :] >= count[:, None]] = 0.0
    total = np.zeros(out_size)
    for column in range(width):  # sequential sum, as Pillow adds the taps
        total = total + weights[:, column]
    weights = np.divide(weights, total[:, None], out=weights, where=total[:, None] != 0)
    scaled = weights * (1 << _PRECISION_BITS)
    fixed = np.trunc(np.where(scaled < 0, scaled - 0.5, scaled + 0.5)).astype(np.int64)
    return _Taps(np.minimum(positions, in_size - 1), weights, fixed)


def _pass_uint8(image: np.ndarray, out_size: int, axis: int) -> np.ndarray:
    taps = _taps(image.shape[axis], out_size)
    shape = [1] * image.ndim
    shape[axis] = out_size
    # Weights are non-negative and sum to about 2**22: 255 * 2**22 + 2**21 fits int32, like Pillow's accumulator.
    source, fixed = image.astype(np.int32), taps.fixed.astype(np.int32)

    def term(column: int) -> np.ndarray:
        return np.take(source, taps.indices[:, column], axis=axis) * fixed[:, column].reshape(shape)

    accumulator = term(0) + _ROUNDING
    for column in range(1, taps.indices.shape[1]):
        accumulator += term(column)
    return np.clip(accumulator >> _PRECISION_BITS, 0, 255).astype(np.uint8)


def _pass_float(image: torch.Tensor, out_size: int, axis: int) -> torch.Tensor:
    taps = _taps(int(image.shape[axis]), out_size)
    indices = torch.from_numpy(taps.indices).to(image.device)
    weights = torch.from_numpy(taps.weights).to(device=image.device, dtype=image.dtype)
    shape = [1] * image.dim()
    shape[axis] = out_size
    result = torch.zeros(
        tuple(out_size if a == axis else s for a, s in enumerate(image.shape)), dtype=image.dtype, device=image.device
    )
    for column in range(indices.shape[1]):
        result += torch.index_select(image, axis, indices[:, column]) * weights[:, column].reshape(shape)
    return result


def resize_antialiased(image: np.ndarray | torch.Tensor, height: int, width: int) -> np.ndarray | torch.Tensor:
    """Resize like ``PIL.Image.resize((width, height), Image.BILINEAR)``.

    Args:
        image: HWC uint8 numpy image (bit-exact with Pillow), or CHW float torch image (values kept as float).
        height: output height.
        width: output width.
    """
    is_array = isinstance(image, np.ndarray)
    rows, columns = (0, 1) if is_array else (1, 2)
    one_pass = _pass_uint8 if is_array else _pass_float
    steps = [(columns, width), (rows, height)]
    if height < image.shape[rows] and image.shape[rows] - height > 2 * (image.shape[columns] - width):
        steps.reverse()
    for axis, size in steps:
        if image.shape[axis] != size:
            image = one_pass(image, size, axis)  # type: ignore[arg-type]
    return image
