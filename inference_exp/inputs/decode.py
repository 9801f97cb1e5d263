"""Decoding encoded images (files, bytes, PIL images) into BGR uint8 arrays."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from inference_exp.errors import InvalidInputError

#: File suffixes treated as images when a folder is searched (compared in lower case).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


def decode_file(path: str | os.PathLike[str], *, item: int | None, auto_orient: bool = True) -> np.ndarray:
    """Read an image file as an HWC BGR uint8 array.

    Args:
        path: the file.
        item: the image's index in the call, for error messages.
        auto_orient: rotate/flip according to the file's EXIF orientation tag (what image viewers show).
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(f"image file '{file}' does not exist or is not a file", item=item)
    try:
        encoded = np.fromfile(file, dtype=np.uint8)
    except OSError as error:
        raise InvalidInputError(f"image file '{file}' cannot be read: {error}", item=item) from error
    return decode_bytes(encoded, item=item, auto_orient=auto_orient, source=str(file))


def decode_bytes(
    encoded: bytes | bytearray | memoryview | np.ndarray,
    *,
    item: int | None,
    auto_orient: bool = True,
    source: str = "encoded bytes",
) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, …) into an HWC BGR uint8 array (alpha dropped, grey expanded)."""
    import cv2

    buffer = encoded if isinstance(encoded, np.ndarray) else np.frombuffer(encoded, dtype=np.uint8)
    if buffer.size == 0:
        raise InvalidInputError(f"{source} is empty", item=item)
    flags = cv2.IMREAD_COLOR if auto_orient else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(buffer, flags)
    if image is None or image.size == 0:
        raise InvalidInputError(
            f"{source} is not a decodable image (corrupt, truncated or an unsupported format)",
            item=item,
            hint="Pass a JPEG/PNG/BMP/TIFF/WebP file, or the decoded pixels as a numpy array.",
        )
    return image


def pil_to_rgb_array(image: Any, *, item: int | None) -> np.ndarray:
    """A PIL image as an HWC RGB uint8 array."""
    try:
        return np.asarray(image.convert("RGB"))
    except Exception as error:  # PIL raises a variety of errors for broken images
        raise InvalidInputError(f"PIL image cannot be converted to RGB: {error}", item=item) from error


def is_pil_image(value: Any) -> bool:
    """Whether ``value`` is a PIL image (checked without importing PIL)."""
    return any(cls.__module__.startswith("PIL.") and cls.__name__ == "Image" for cls in type(value).__mro__)
