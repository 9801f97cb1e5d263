"""Pre-processing steps on numpy images (HWC uint8, 3 channels), implemented with OpenCV.

Every function takes and returns HWC uint8 arrays. The contrast modes follow scikit-image's semantics
(``model-packages.md`` §3.1), re-implemented with OpenCV/numpy look-up tables:

* ``Contrast Stretching``: percentiles 2 and 98 over all values (numpy's linear interpolation), values clipped to
  that range and stretched to 0..255, truncated to uint8 (``rescale_intensity``). A flat range (``p2 == p98``)
  makes the image constant ``p2``, as ``rescale_intensity`` does.
* ``Histogram Equalization``: 256-bin histogram of the image scaled to 0..1 over its own min..max, cumulative
  distribution interpolated at each value (``equalize_hist``), x255, truncated to uint8.
* ``Adaptive Equalization``: OpenCV CLAHE standing in for ``equalize_adapthist(clip_limit=0.03)``: 8x8 tiles
  (scikit-image's default kernel is 1/8 of each side), clip limit 0.03 of a tile's pixel count (OpenCV's
  ``clipLimit`` is relative to the mean bin count of 256 bins, hence ``0.03 * 256``), one histogram per tile over
  all three channels (the channels are interleaved along the width, so the three values of a pixel are
  interpolated between tile mappings at positions up to 2/3 px apart: a grey pixel may come out tinted by a
  level or two). It approximates scikit-image; values are not bit-identical.
"""

from __future__ import annotations

import cv2
import numpy as np

from inference_exp.inputs import ColorFormat
from inference_exp.packages.inference_config import ContrastType, ResizeMode
from inference_exp.processing.transforms import ImageTransform

CLAHE_CLIP_LIMIT = 0.03 * 256
CLAHE_TILES = (8, 8)
_LEVELS = np.arange(256, dtype=np.float64)


def crop(image: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """The ``(x0, y0, x1, y1)`` window of ``image`` (a view)."""
    x0, y0, x1, y1 = window
    return image[y0:y1, x0:x1]


def to_grayscale(image: np.ndarray, color_format: ColorFormat) -> np.ndarray:
    """Luminance (``0.299 R + 0.587 G + 0.114 B``, read in the image's real channel order) in all 3 channels."""
    code = cv2.COLOR_BGR2GRAY if color_format == "bgr" else cv2.COLOR_RGB2GRAY
    return cv2.cvtColor(cv2.cvtColor(image, code), cv2.COLOR_GRAY2BGR)


def enhance_contrast(image: np.ndarray, contrast_type: ContrastType) -> np.ndarray:
    """Apply one of the contrast modes (see the module docstring)."""
    if contrast_type == "Adaptive Equalization":
        height, width = image.shape[:2]
        clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP_LIMIT, tileGridSize=CLAHE_TILES)
        # Interleaving the channels along the width gives one histogram per tile over all channels.
        flat = np.ascontiguousarray(image).reshape(height, width * 3)
        return clahe.apply(flat).reshape(height, width, 3)
    counts = np.bincount(image.ravel(), minlength=256)
    if contrast_type == "Contrast Stretching":
        table = _stretching_table(counts)
    elif contrast_type == "Histogram Equalization":
        table = _equalization_table(counts)
    else:
        raise ValueError(f"unknown contrast type {contrast_type!r}")
    return cv2.LUT(image, table)


def _stretching_table(counts: np.ndarray) -> np.ndarray:
    low, high = percentile_from_counts(counts, 2.0), percentile_from_counts(counts, 98.0)
    if high > low:
        levels = (np.clip(_LEVELS, low, high) - low) / (high - low) * 255.0
    else:
        levels = np.full(256, np.clip(low, 0, 255))
    return levels.astype(np.uint8)


def _equalization_table(counts: np.ndarray) -> np.ndarray:
    values = _LEVELS / 255.0
    present = np.flatnonzero(counts)
    low, high = values[present[0]], values[present[-1]]
    hist, edges = np.histogram(values, bins=256, range=(low, high), weights=counts)
    centers = (edges[:-1] + edges[1:]) / 2
    cdf = np.cumsum(hist) / hist.sum()
    return (np.interp(values, centers, cdf) * 255.0).astype(np.uint8)


def percentile_from_counts(counts: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear method) of the values whose histogram is ``counts`` (index = value)."""
    cumulative = np.cumsum(counts)
    position = q / 100 * (cumulative[-1] - 1)
    lower = int(np.floor(position))
    fraction = position - lower
    a = float(np.searchsorted(cumulative, lower, side="right"))
    b = float(np.searchsorted(cumulative, min(lower + 1, cumulative[-1] - 1), side="right"))
    # numpy's _lerp, including its branch for fractions >= 0.5
    return b - (b - a) * (1 - fraction) if fraction >= 0.5 else a + (b - a) * fraction


def resize_and_pad(image: np.ndarray, transform: ImageTransform, mode: ResizeMode, fill: int) -> np.ndarray:
    """Resize to ``transform.resized_size`` (``INTER_LINEAR``) and pad / crop to ``transform.network_size``.

    Letterbox borders are filled with ``fill``; ``letterbox-reflect-edges`` mirrors the image with
    ``cv2.BORDER_REFLECT_101`` (``dcb|abcd|cba``, the same rule as ``torch.nn.functional.pad(mode="reflect")``,
    repeated when the border is wider than the image); center-crop pads with 0.
    """
    height, width = transform.resized_size
    if image.shape[0] != height or image.shape[1] != width:
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    top, bottom, left, right = transform.pad_top, transform.pad_bottom, transform.pad_left, transform.pad_right
    if min(top, bottom, left, right) < 0:
        image = image[max(-top, 0) : height - max(-bottom, 0), max(-left, 0) : width - max(-right, 0)]
        top, bottom, left, right = max(top, 0), max(bottom, 0), max(left, 0), max(right, 0)
    if top or bottom or left or right:
        if mode == "letterbox-reflect-edges":
            image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_REFLECT_101)
        else:
            value = fill if mode == "letterbox" else 0
            image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(value, value, value))
    return image
