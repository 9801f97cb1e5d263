"""Pre-processing driven by ``inference_config.json``: images → NCHW float32 tensor + one transform per image.

Per image, in order (``model-packages.md`` §3.1-3.3): auto-orient (done when files are decoded, by
:func:`~inference_exp.inputs.normalize_images`), static crop, grayscale, contrast, resize per ``resize_mode``
(:func:`~inference_exp.processing.transforms.plan_transform`); then for the batch: channel order to
``color_mode``, ``/ scaling_factor``, ``(x - mean) / std``, NCHW float32 on the requested device.

Numpy images go through OpenCV (``INTER_LINEAR``, ``cv2.copyMakeBorder``); the tensor assembly is one look-up
table pass per channel (``cv2.LUT`` from uint8 straight into the output tensor's memory) on the CPU, or an
upload of the uint8 pixels followed by the arithmetic on the device otherwise. Torch images stay in torch on
the target device (``F.interpolate(mode="bilinear")``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch

from inference_exp.errors import InvalidInputError, InvalidParameterError
from inference_exp.inputs import ColorFormat, ImageLike, NormalizedImage, normalize_images
from inference_exp.packages.inference_config import ColorMode, InferenceConfig, PadToBeDivisible, ResizeMode
from inference_exp.processing import image_ops, tensor_ops
from inference_exp.processing.transforms import RESIZE_MODES, ImageTransform, Size, plan_transform
from inference_exp.utils.logging import get_logger

logger = get_logger("processing")

ImageSizeRequest = int | tuple[int, int]
Device = str | torch.device


def resize_image(
    image: np.ndarray | torch.Tensor,
    target: Size,
    mode: ResizeMode,
    *,
    fill: int = 0,
    crop_window: tuple[int, int, int, int] | None = None,
) -> tuple[np.ndarray | torch.Tensor, ImageTransform]:
    """Static-crop and resize one image to ``target`` under ``mode`` (no colour or value changes).

    Args:
        image: HWC uint8 numpy image, or CHW float torch image (values kept as they are).
        target: network input size.
        mode: resize mode.
        fill: letterbox border value (0-255 units).
        crop_window: static crop ``(x0, y0, x1, y1)`` in pixels, if any.

    Returns:
        The image at the transform's network size, and the transform.
    """
    is_array = isinstance(image, np.ndarray)
    height, width = (image.shape[0], image.shape[1]) if is_array else (image.shape[1], image.shape[2])
    transform = plan_transform(height, width, target, mode, crop_window)
    ops = image_ops if is_array else tensor_ops
    if crop_window is not None:
        image = ops.crop(image, crop_window)
    return ops.resize_and_pad(image, transform, mode, fill), transform


class TensorAssembler:
    """Channel order, scaling and normalisation of network-size images into the NCHW batch.

    Values are computed in float32 as ``((x / scaling_factor) - mean) / std`` on both paths; for uint8 numpy
    images the 256 possible results per channel are precomputed, so assembling is one ``cv2.LUT`` per channel.
    """

    def __init__(
        self,
        color_mode: ColorMode,
        scaling_factor: float | None,
        normalization: tuple[Sequence[float], Sequence[float]] | None,
    ) -> None:
        self.color_mode = color_mode
        self.scaling_factor = scaling_factor
        self._mean = None if normalization is None else torch.tensor(normalization[0], dtype=torch.float32)
        self._std = None if normalization is None else torch.tensor(normalization[1], dtype=torch.float32)
        levels = torch.arange(256, dtype=torch.float32).expand(3, 1, 256)  # channel x 1 x value
        self._tables = self._scale(levels).numpy()  # the same arithmetic as tensor(), once per pixel value

    def _scale(self, image: torch.Tensor) -> torch.Tensor:
        if self.scaling_factor is not None:
            image = image / self.scaling_factor
        if self._mean is not None and self._std is not None:
            mean, std = self._mean.to(image.device), self._std.to(image.device)
            image = (image - mean[:, None, None]) / std[:, None, None]
        return image

    def numpy_into(self, image: np.ndarray, color_format: ColorFormat, out: np.ndarray) -> None:
        """Write HWC uint8 ``image`` (channel order ``color_format``) into the ``(3, H, W)`` float32 ``out``."""
        planes = cv2.split(image)
        swap = color_format != self.color_mode
        for channel in range(3):
            source = planes[2 - channel] if swap else planes[channel]
            cv2.LUT(source, self._tables[channel], dst=out[channel])

    def tensor(self, image: torch.Tensor, color_format: ColorFormat) -> torch.Tensor:
        """CHW float32 0..255 ``image`` as a network-ready CHW tensor on its device."""
        if color_format != self.color_mode:
            image = image.flip(0)
        return self._scale(image)


class Preprocessor:
    """Turns images into the network input tensor of one package (see the module docstring).

    Args:
        config: the package's inference config.
        resize_mode: use this mode instead of the config's (a family's substitution of an unsupported mode).
        padding_value: use this letterbox fill instead of the config's.
    """

    def __init__(
        self,
        config: InferenceConfig,
        *,
        resize_mode: ResizeMode | None = None,
        padding_value: int | None = None,
    ) -> None:
        network = config.network_input
        self.config = config
        self.resize_mode: ResizeMode = resize_mode or network.resize_mode
        if self.resize_mode not in RESIZE_MODES:
            raise InvalidParameterError(f"unknown resize mode {self.resize_mode!r}")
        self.fill = network.fill_value if padding_value is None else padding_value
        self.assembler = TensorAssembler(network.color_mode, network.scaling_factor, network.normalization)
        self._warned_static_size = False

    @property
    def auto_orient(self) -> bool:
        """Whether decoded files should follow their EXIF orientation (from the config; on by default)."""
        return self.config.image_pre_processing.auto_orient_enabled

    @property
    def training_size(self) -> Size:
        size = self.config.network_input.training_input_size
        return Size(size.height, size.width)

    def target_size(self, image_size: ImageSizeRequest | None = None) -> Size:
        """The network input size for a call, honouring a requested ``image_size`` (int or ``(w, h)``).

        ``pad-to-be-divisible`` rounds each side up to a multiple of its ``value``; ``any-size`` uses the request
        as it is; packages without dynamic spatial size ignore the request (with a warning).
        """
        if image_size is None:
            return self.training_size
        network = self.config.network_input
        if not network.dynamic_spatial_size_supported:
            if not self._warned_static_size:
                logger.warning(
                    "image_size=%r ignored: this model only runs at its training size %dx%d (w x h).",
                    image_size, self.training_size.width, self.training_size.height,
                )
                self._warned_static_size = True
            return self.training_size
        width, height = _parse_image_size(image_size)
        mode = network.dynamic_spatial_size_mode
        if isinstance(mode, PadToBeDivisible):
            width, height = (math.ceil(side / mode.value) * mode.value for side in (width, height))
        return Size(height, width)

    def __call__(
        self,
        images: ImageLike | Sequence[ImageLike] | Sequence[NormalizedImage],
        *,
        device: Device = "cpu",
        image_size: ImageSizeRequest | None = None,
        input_color_format: ColorFormat | None = None,
        disable_static_crop: bool = False,
        disable_grayscale: bool = False,
        disable_contrast: bool = False,
    ) -> tuple[torch.Tensor, list[ImageTransform]]:
        """Pre-process a call's images.

        Args:
            images: :class:`NormalizedImage` objects, or anything :func:`normalize_images` accepts (normalised
                here, with the config's auto-orient flag and ``input_color_format``).
            device: where the tensor is built.
            image_size: requested network size (dynamic-size packages only), int or ``(w, h)``.
            input_color_format: channel order of raw numpy/tensor inputs.
            disable_static_crop: skip the config's static crop (the images were already cropped upstream).
            disable_grayscale: skip the config's grayscale step.
            disable_contrast: skip the config's contrast step.

        Returns:
            ``(batch, transforms)``: an NCHW float32 tensor on ``device`` and one transform per image.
        """
        normalized = normalize_images(images, input_color_format=input_color_format, auto_orient=self.auto_orient)
        device = torch.device(device)
        target = self.target_size(image_size)
        steps = self.config.image_pre_processing
        crop = steps.static_crop if steps.static_crop_enabled and not disable_static_crop else None
        grayscale = steps.grayscale_enabled and not disable_grayscale
        contrast = None if disable_contrast else steps.contrast_type
        prepared: list[tuple[np.ndarray | torch.Tensor, ColorFormat]] = []
        transforms: list[ImageTransform] = []
        for image in normalized:
            data = image.data if isinstance(image.data, np.ndarray) else tensor_ops.as_float_image(image.data, device)
            window = None if crop is None else crop.window(image.width, image.height)
            ops = image_ops if isinstance(data, np.ndarray) else tensor_ops
            if window is not None:
                data = ops.crop(data, window)
            if grayscale:
                data = ops.to_grayscale(data, image.color_format)
            if contrast is not None:
                data = ops.enhance_contrast(data, contrast)
            transform = plan_transform(image.height, image.width, target, self.resize_mode, window)
            prepared.append((ops.resize_and_pad(data, transform, self.resize_mode, self.fill), image.color_format))
            transforms.append(transform)
        return self._assemble(prepared, transforms, device), transforms

    def _assemble(
        self,
        prepared: list[tuple[np.ndarray | torch.Tensor, ColorFormat]],
        transforms: list[ImageTransform],
        device: torch.device,
    ) -> torch.Tensor:
        sizes = {transform.network_size for transform in transforms}
        if len(sizes) > 1:
            listed = ", ".join(f"{t.network_size.width}x{t.network_size.height}" for t in transforms)
            raise InvalidInputError(
                f"resize mode {self.resize_mode!r} gives these images different network sizes ({listed} w x h), "
                "so they cannot share a batch",
                hint="Pass the images one per call.",
            )
        height, width = sizes.pop()
        shape = (len(prepared), 3, height, width)
        if device.type == "cpu":
            # numpy's allocator serves large arrays (huge pages where available) about twice as fast as torch's.
            host: np.ndarray | None = np.empty(shape, dtype=np.float32)
            batch = torch.from_numpy(host)
        else:
            host, batch = None, torch.empty(shape, dtype=torch.float32, device=device)
        for index, (data, color_format) in enumerate(prepared):
            if isinstance(data, np.ndarray):
                if host is not None:
                    self.assembler.numpy_into(data, color_format, host[index])
                    continue
                data = tensor_ops.numpy_image_to_tensor(data, device)
            batch[index] = self.assembler.tensor(data, color_format)
        return batch


def build_preprocessor(
    config: InferenceConfig,
    *,
    resize_mode: ResizeMode | None = None,
    padding_value: int | None = None,
) -> Preprocessor:
    """The :class:`Preprocessor` of a package (optionally with a substituted resize mode / fill)."""
    return Preprocessor(config, resize_mode=resize_mode, padding_value=padding_value)


def _parse_image_size(image_size: Any) -> tuple[int, int]:
    """``(width, height)`` from an int or a ``(w, h)`` pair of positive ints."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        pair: tuple[Any, ...] = (image_size, image_size)
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        pair = tuple(image_size)
    else:
        raise InvalidParameterError(f"image_size must be an int or a (width, height) pair, not {image_size!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise InvalidParameterError(f"image_size must hold positive integers, not {image_size!r}")
    return pair[0], pair[1]
