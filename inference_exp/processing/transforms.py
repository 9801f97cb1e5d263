"""The geometric record of one pre-processed image, and mapping coordinates between it and the original.

:func:`plan_transform` decides, for one image and one resize mode, the resized size and the paddings; the
result, an :class:`ImageTransform`, is what pre-processing applies and what post-processing uses to map network
coordinates back to the original image (and forward, e.g. for prompts).

Coordinates are continuous pixel coordinates: pixel ``i`` covers ``[i, i + 1)``, so a box ``x1, y1, x2, y2``
spans whole pixels when its values are integers. Resizing by a gain ``g`` maps ``x`` to ``x * g`` (the
half-pixel convention of OpenCV ``INTER_LINEAR`` and ``torch.nn.functional.interpolate(align_corners=False)``).

Letterbox rounding follows Ultralytics (``LetterBox(auto=False)``), which the reference predictions use:
``r = min(Tw / w, Th / h)``; resized size ``round(w * r)`` x ``round(h * r)`` with Python ``round``; paddings
``left = round(dw - 0.1)``, ``right = round(dw + 0.1)`` with ``dw = (Tw - new_w) / 2`` (the extra pixel of an odd
padding goes right / bottom), likewise top / bottom. Mapping back uses the **per-axis gains of the rounded size**
(``new_w / w``, ``new_h / h``) and the **integer padding actually applied** (the ``ultralytics.ops.scale_boxes``
rule), so mapped boxes match the reference implementation to float precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import numpy as np

from inference_exp.errors import InvalidParameterError
from inference_exp.packages.inference_config import ResizeMode

if TYPE_CHECKING:
    import torch

Coordinates = TypeVar("Coordinates", np.ndarray, "torch.Tensor")

RESIZE_MODES: tuple[str, ...] = ResizeMode.__args__  # type: ignore[attr-defined]


class Size(NamedTuple):
    """An image size, ``(height, width)`` like a numpy shape."""

    height: int
    width: int


@dataclass(frozen=True)
class ImageTransform:
    """How one original image became (part of) the network input.

    Network coordinate ``x'`` relates to original coordinate ``X`` by
    ``x' = (X - crop_x) * scale_x + pad_left`` (likewise ``y``).

    Attributes:
        original_size: size of the image the caller passed.
        crop_offset: ``(x, y)`` origin of the static crop in the original image (``(0, 0)`` without one).
        size_after_crop: size after the static crop (the original size without one).
        scale_x: horizontal gain of the resize (resized width / width after crop).
        scale_y: vertical gain of the resize.
        pad_left: columns added left of the resized image; negative = columns cropped (center-crop).
        pad_top: rows added above; negative = rows cropped.
        pad_right: columns added right; negative = cropped.
        pad_bottom: rows added below; negative = cropped.
        network_size: size of this image's slice of the network input tensor.
    """

    original_size: Size
    crop_offset: tuple[int, int]
    size_after_crop: Size
    scale_x: float
    scale_y: float
    pad_left: int
    pad_top: int
    pad_right: int
    pad_bottom: int
    network_size: Size

    @property
    def resized_size(self) -> Size:
        """Size of the image after resizing, before padding / cropping."""
        return Size(
            self.network_size.height - self.pad_top - self.pad_bottom,
            self.network_size.width - self.pad_left - self.pad_right,
        )

    # --- network → original ------------------------------------------------------------------------------

    def boxes_to_original(self, boxes: Coordinates, *, clip: bool = True) -> Coordinates:
        """Map ``(..., 4)`` ``x1, y1, x2, y2`` boxes from network to original pixels (float32, same type/device).

        With ``clip`` (default) coordinates are clamped to ``[0, W] x [0, H]`` of the original image.
        """
        return self._to_original(boxes, 2, clip)

    def points_to_original(self, points: Coordinates, *, clip: bool = True) -> Coordinates:
        """Map ``(..., 2)`` ``x, y`` points (keypoints, polygon vertices) from network to original pixels."""
        return self._to_original(points, 1, clip)

    def polygons_to_original(self, polygons: Sequence[Coordinates], *, clip: bool = True) -> list[Coordinates]:
        """Map a list of ``(K, 2)`` polygons from network to original pixels."""
        return [self.points_to_original(polygon, clip=clip) for polygon in polygons]

    # --- original → network ------------------------------------------------------------------------------

    def boxes_to_network(self, boxes: Coordinates) -> Coordinates:
        """Map ``(..., 4)`` boxes from original to network pixels (not clipped)."""
        return self._to_network(boxes, 2)

    def points_to_network(self, points: Coordinates) -> Coordinates:
        """Map ``(..., 2)`` points from original to network pixels (not clipped)."""
        return self._to_network(points, 1)

    def to_metadata(self) -> dict[str, object]:
        """The record as a JSON-friendly dict (for ``image_metadata`` of predictions)."""
        return {
            "original_size": {"height": self.original_size.height, "width": self.original_size.width},
            "static_crop_offset": {"x": self.crop_offset[0], "y": self.crop_offset[1]},
            "size_after_pre_processing": {"height": self.size_after_crop.height, "width": self.size_after_crop.width},
            "scale_x": self.scale_x,
            "scale_y": self.scale_y,
            "pad_left": self.pad_left,
            "pad_top": self.pad_top,
            "pad_right": self.pad_right,
            "pad_bottom": self.pad_bottom,
            "inference_size": {"height": self.network_size.height, "width": self.network_size.width},
        }

    def _to_original(self, values: Coordinates, repeats: int, clip: bool) -> Coordinates:
        shift = (self.pad_left, self.pad_top) * repeats
        gain = (self.scale_x, self.scale_y) * repeats
        offset = self.crop_offset * repeats
        upper = (self.original_size.width, self.original_size.height) * repeats if clip else None
        return _affine(values, shift, gain, offset, upper, inverse=True)

    def _to_network(self, values: Coordinates, repeats: int) -> Coordinates:
        shift = self.crop_offset * repeats
        gain = (self.scale_x, self.scale_y) * repeats
        offset = (self.pad_left, self.pad_top) * repeats
        return _affine(values, shift, gain, offset, None, inverse=False)


def _affine(
    values: Coordinates,
    shift: tuple[float, ...],
    gain: tuple[float, ...],
    offset: tuple[float, ...],
    upper: tuple[float, ...] | None,
    *,
    inverse: bool,
) -> Coordinates:
    """``(values - shift) / gain + offset`` (``* gain`` when not ``inverse``) per last-axis column, float32."""
    width = len(gain)
    if values.shape[-1] != width:
        raise InvalidParameterError(f"expected coordinates with a last axis of {width}, got shape {tuple(values.shape)}")
    if isinstance(values, np.ndarray):
        out = values.astype(np.float32)
        out -= np.asarray(shift, dtype=np.float32)
        if inverse:
            out /= np.asarray(gain, dtype=np.float32)
        else:
            out *= np.asarray(gain, dtype=np.float32)
        out += np.asarray(offset, dtype=np.float32)
        if upper is not None:
            np.clip(out, 0.0, np.asarray(upper, dtype=np.float32), out=out)
        return out
    import torch

    def column(numbers: tuple[float, ...]) -> torch.Tensor:
        return torch.tensor(numbers, dtype=torch.float32, device=values.device)

    out = values.to(torch.float32) - column(shift)
    out = out / column(gain) if inverse else out * column(gain)
    out = out + column(offset)
    if upper is not None:
        out = torch.minimum(out.clamp_(min=0.0), column(upper))
    return out


# --- planning ----------------------------------------------------------------------------------------------


def plan_transform(
    height: int,
    width: int,
    target: Size,
    mode: ResizeMode,
    crop_window: tuple[int, int, int, int] | None = None,
) -> ImageTransform:
    """Decide how an image of ``height`` x ``width`` reaches ``target`` under ``mode``.

    Args:
        height: original image height.
        width: original image width.
        target: the network input size (training size, or the dynamic size the caller asked for).
        mode: the resize mode (``model-packages.md`` §3.3; letterbox rounding as in the module docstring).
        crop_window: static crop ``(x0, y0, x1, y1)`` in original pixels, if any.

    ``center-crop`` pads (with zeros) by ``d // 2`` before and the rest after when the image is smaller than the
    target, and crops ``|d| // 2`` from the start when it is larger (recorded as negative pads).
    ``fit-longer-edge`` scales to fit inside ``target`` without padding, so its network size may be smaller than
    ``target`` along one axis.
    """
    if crop_window is None:
        x0, y0, h, w = 0, 0, height, width
    else:
        x0, y0, x1, y1 = crop_window
        h, w = y1 - y0, x1 - x0
    th, tw = target
    pad_left = pad_top = pad_right = pad_bottom = 0
    if mode == "stretch":
        new_h, new_w = th, tw
    elif mode in ("letterbox", "letterbox-reflect-edges"):
        ratio = min(tw / w, th / h)
        new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))
        half_w, half_h = (tw - new_w) / 2, (th - new_h) / 2
        pad_left, pad_right = round(half_w - 0.1), round(half_w + 0.1)
        pad_top, pad_bottom = round(half_h - 0.1), round(half_h + 0.1)
    elif mode == "center-crop":
        new_h, new_w = h, w
        pad_top, pad_bottom = _center_pads(th - h)
        pad_left, pad_right = _center_pads(tw - w)
    elif mode == "fit-longer-edge":
        if tw / w < th / h:
            new_w, new_h = tw, max(1, round(tw / w * h))
        else:
            new_w, new_h = max(1, round(th / h * w)), th
    else:
        raise InvalidParameterError(f"unknown resize mode {mode!r}; expected one of {', '.join(RESIZE_MODES)}")
    return ImageTransform(
        original_size=Size(height, width),
        crop_offset=(x0, y0),
        size_after_crop=Size(h, w),
        scale_x=new_w / w,
        scale_y=new_h / h,
        pad_left=pad_left,
        pad_top=pad_top,
        pad_right=pad_right,
        pad_bottom=pad_bottom,
        network_size=Size(new_h + pad_top + pad_bottom, new_w + pad_left + pad_right),
    )


def _center_pads(difference: int) -> tuple[int, int]:
    """``(before, after)`` pads for center-crop; negative values are crops."""
    if difference >= 0:
        return difference // 2, difference - difference // 2
    cut = -difference // 2
    return -cut, difference + cut
