"""Turn whatever the user passed to a model into a list of images with a known layout and colour order.

Accepted (one image, or a list/tuple mixing them):

* ``numpy.ndarray`` HWC uint8 (BGR unless ``input_color_format`` says otherwise), HW greyscale, HWC with
  1 or 4 channels (alpha dropped), or an NHWC batch;
* ``torch.Tensor`` CHW or NCHW (RGB unless ``input_color_format`` says otherwise), uint8 or float in 0..1;
  channels-last HWC / NHWC tensors are recognised; 1 or 4 channels are handled like numpy;
* image file paths (``str`` or ``os.PathLike``), encoded ``bytes``, PIL images;
* :class:`NormalizedImage` objects (already normalised: passed through unchanged).

Numpy images come out as contiguous HWC uint8 with 3 channels; tensors as CHW with 3 channels (dtype and
device kept). Everything else raises :class:`~inference_exp.errors.InvalidInputError` naming the item.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np

from inference_exp.errors import InvalidInputError, InvalidParameterError
from inference_exp.inputs.decode import decode_bytes, decode_file, is_pil_image, pil_to_rgb_array

if TYPE_CHECKING:
    import torch

ColorFormat = Literal["rgb", "bgr"]
ImageLike = Union[np.ndarray, "torch.Tensor", str, os.PathLike, bytes, Any]

_CHANNEL_COUNTS = (1, 3, 4)


@dataclass(frozen=True)
class NormalizedImage:
    """One image ready for pre-processing.

    Attributes:
        data: HWC uint8 numpy array, or CHW torch tensor (uint8, or float in 0..1), always 3 channels.
        color_format: channel order of ``data``.
        source: file path the image was read from, if any.
    """

    data: Any
    color_format: ColorFormat
    source: str | None = None

    @property
    def is_tensor(self) -> bool:
        """Whether ``data`` is a torch tensor (CHW) rather than a numpy array (HWC)."""
        return not isinstance(self.data, np.ndarray)

    @property
    def height(self) -> int:
        return int(self.data.shape[1] if self.is_tensor else self.data.shape[0])

    @property
    def width(self) -> int:
        return int(self.data.shape[2] if self.is_tensor else self.data.shape[1])


def normalize_images(
    images: ImageLike | Sequence[ImageLike],
    *,
    input_color_format: ColorFormat | None = None,
    auto_orient: bool = True,
) -> list[NormalizedImage]:
    """Normalise the images of one call.

    Args:
        images: one image, a batch (NHWC numpy / NCHW tensor) or a list/tuple of images.
        input_color_format: channel order of numpy/tensor inputs; default BGR for numpy, RGB for tensors.
            Decoded files/bytes/PIL images have a known order and ignore it.
        auto_orient: apply the EXIF orientation of files and bytes.

    Returns:
        One :class:`NormalizedImage` per image, in input order.
    """
    if input_color_format is not None and input_color_format not in ("rgb", "bgr"):
        raise InvalidParameterError(
            f"input_color_format must be 'rgb' or 'bgr', not {input_color_format!r}",
            hint="Pass input_color_format='rgb' or 'bgr' (or leave it unset).",
        )
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise InvalidInputError("got an empty list of images", hint="Pass at least one image.")
        normalized: list[NormalizedImage] = []
        for index, image in enumerate(images):
            normalized.extend(_normalize_one(image, index, input_color_format, auto_orient, allow_batch=False))
        return normalized
    return _normalize_one(images, None, input_color_format, auto_orient, allow_batch=True)


def _normalize_one(
    image: Any, item: int | None, color: ColorFormat | None, auto_orient: bool, *, allow_batch: bool
) -> list[NormalizedImage]:
    if isinstance(image, NormalizedImage):
        return [image]
    if isinstance(image, np.ndarray):
        return _from_numpy(image, item, color or "bgr", allow_batch)
    if _is_torch_tensor(image):
        return _from_tensor(image, item, color or "rgb", allow_batch)
    if isinstance(image, (str, os.PathLike)):
        return [NormalizedImage(decode_file(image, item=item, auto_orient=auto_orient), "bgr", source=str(image))]
    if isinstance(image, (bytes, bytearray, memoryview)):
        return [NormalizedImage(decode_bytes(image, item=item, auto_orient=auto_orient), "bgr")]
    if is_pil_image(image):
        return [NormalizedImage(pil_to_rgb_array(image, item=item), "rgb")]
    raise InvalidInputError(f"unsupported image type {type(image).__name__}", item=item)


def _is_torch_tensor(value: Any) -> bool:
    # Checked by type name so that numpy-only callers never import torch.
    return type(value).__module__.startswith("torch") and hasattr(value, "dim")


def _from_numpy(array: np.ndarray, item: int | None, color: ColorFormat, allow_batch: bool) -> list[NormalizedImage]:
    if array.dtype != np.uint8:
        raise InvalidInputError(
            f"numpy image has dtype {array.dtype}; expected uint8",
            item=item,
            hint="Convert it first, e.g. (image * 255).round().clip(0, 255).astype(np.uint8) for floats in 0..1.",
        )
    if array.ndim == 4:
        if not allow_batch:
            raise InvalidInputError("a 4-D numpy batch cannot be an element of a list", item=item)
        if array.shape[0] == 0:
            raise InvalidInputError("numpy batch holds no images", item=item)
        return [_numpy_image(frame, index, color) for index, frame in enumerate(array)]
    if array.ndim not in (2, 3):
        raise InvalidInputError(
            f"numpy image has shape {array.shape}; expected HW, HWC or an NHWC batch", item=item
        )
    return [_numpy_image(array, item, color)]


def _numpy_image(array: np.ndarray, item: int | None, color: ColorFormat) -> NormalizedImage:
    if array.ndim == 3 and array.shape[-1] not in _CHANNEL_COUNTS:
        hint = "Numpy images are channels-last; use image.transpose(1, 2, 0) for a CHW array."
        raise InvalidInputError(f"numpy image has shape {array.shape}; expected HWC with 1, 3 or 4 channels", item=item, hint=hint)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidInputError(f"numpy image has zero size {array.shape}", item=item)
    if array.ndim == 2 or array.shape[-1] == 1:
        grey = array.reshape(array.shape[0], array.shape[1])
        array = np.repeat(grey[:, :, None], 3, axis=2)
    elif array.shape[-1] == 4:
        array = array[:, :, :3]
    return NormalizedImage(np.ascontiguousarray(array), color)


def _from_tensor(tensor: torch.Tensor, item: int | None, color: ColorFormat, allow_batch: bool) -> list[NormalizedImage]:
    import torch

    if tensor.dtype != torch.uint8 and not tensor.is_floating_point():
        raise InvalidInputError(
            f"tensor image has dtype {tensor.dtype}; expected uint8 or a float type with values in 0..1",
            item=item,
        )
    if tensor.dim() == 4:
        if not allow_batch:
            raise InvalidInputError("a 4-D tensor batch cannot be an element of a list", item=item)
        if tensor.shape[0] == 0:
            raise InvalidInputError("tensor batch holds no images", item=item)
        return [_tensor_image(frame, index, color) for index, frame in enumerate(tensor)]
    if tensor.dim() not in (2, 3):
        raise InvalidInputError(
            f"tensor image has shape {tuple(tensor.shape)}; expected CHW, HWC, HW or an NCHW batch", item=item
        )
    return [_tensor_image(tensor, item, color)]


def _tensor_image(tensor: torch.Tensor, item: int | None, color: ColorFormat) -> NormalizedImage:
    import torch

    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    elif tensor.shape[0] not in _CHANNEL_COUNTS and tensor.shape[-1] in _CHANNEL_COUNTS:
        tensor = tensor.permute(2, 0, 1)  # channels-last
    if tensor.shape[0] not in _CHANNEL_COUNTS:
        raise InvalidInputError(
            f"tensor image has shape {tuple(tensor.shape)}; expected 1, 3 or 4 channels", item=item
        )
    if tensor.shape[1] == 0 or tensor.shape[2] == 0:
        raise InvalidInputError(f"tensor image has zero size {tuple(tensor.shape)}", item=item)
    if tensor.is_floating_point():
        if not bool(torch.isfinite(tensor).all()):
            raise InvalidInputError("tensor image contains NaN or infinite values", item=item)
        low, high = float(tensor.min()), float(tensor.max())
        if low < 0.0 or high > 1.0:
            raise InvalidInputError(
                f"float tensor image has values in [{low:g}, {high:g}]; expected 0..1",
                item=item,
                hint="Divide 0..255 floats by 255, or pass a uint8 tensor.",
            )
    if tensor.shape[0] == 1:
        tensor = tensor.expand(3, -1, -1)
    elif tensor.shape[0] == 4:
        tensor = tensor[:3]
    return NormalizedImage(tensor, color)
