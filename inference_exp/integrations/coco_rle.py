"""COCO run-length encoding (RLE) of binary masks, as in COCO result files and ``pycocotools``.

A mask of ``height x width`` pixels is read in **column-major** order (down the first column, then the next
one) and described by the lengths of its alternating runs, starting with a run of ``False`` pixels (``0`` when
the first pixel is set). COCO stores those run lengths either as a list of ints ("uncompressed") or as a
compact string ("compressed"): from the third run on, each length is replaced by its difference to the run two
places before, and every value is written as 5-bit groups, least significant first, each group as the
character ``chr(48 + group)`` with bit ``0x20`` set when another group follows (bit ``0x10`` of the last group
is the sign). An encoded mask is ``{"size": [height, width], "counts": <string>}``, which
``pycocotools.mask.decode`` and ``supervision.rle_to_mask`` read directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_OFFSET = 48  # '0': the character of the 5-bit group 0


def run_lengths(mask: np.ndarray) -> list[int]:
    """The column-major run lengths of a 2-D mask, starting with a (maybe empty) run of ``False`` pixels."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], starts, [flat.size])))
    if flat[0]:
        runs = np.concatenate(([0], runs))
    return runs.tolist()


def compress_counts(counts: Sequence[int]) -> str:
    """The COCO string form of run lengths (see the module docstring)."""
    characters: list[str] = []
    for index, count in enumerate(counts):
        value = int(count) - (int(counts[index - 2]) if index > 2 else 0)
        more = True
        while more:
            group = value & 0x1F
            value >>= 5  # arithmetic shift: a negative difference ends at -1
            more = value != -1 if group & 0x10 else value != 0
            characters.append(chr(_OFFSET + (group | 0x20 if more else group)))
    return "".join(characters)


def decompress_counts(text: str) -> list[int]:
    """The run lengths of a COCO count string (the inverse of :func:`compress_counts`).

    Raises:
        ValueError: the string is not a valid COCO count string.
    """
    counts: list[int] = []
    value = shift = 0
    for character in text:
        group = ord(character) - _OFFSET
        if not 0 <= group < 64:
            raise ValueError(f"{character!r} is not a character of a COCO RLE count string")
        value |= (group & 0x1F) << shift
        shift += 5
        if group & 0x20:
            continue
        if group & 0x10:
            value -= 1 << shift  # sign-extend the last group
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
        value = shift = 0
    if shift:
        raise ValueError("COCO RLE count string ends in the middle of a value")
    return counts


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """``{"size": [height, width], "counts": <COCO string>}`` of a 2-D boolean mask.

    Raises:
        ValueError: ``mask`` is not 2-D.
    """
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ValueError(f"a mask must be 2-D (height, width), not of shape {array.shape}")
    height, width = array.shape
    return {"size": [int(height), int(width)], "counts": compress_counts(run_lengths(array))}


def decode_mask(rle: Mapping[str, Any]) -> np.ndarray:
    """The ``(height, width)`` bool mask of a COCO RLE (``counts`` as a string or a list of run lengths).

    Raises:
        ValueError: the runs do not cover exactly ``height * width`` pixels, or the count string is invalid.
    """
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs = np.asarray(decompress_counts(counts) if isinstance(counts, str) else counts, dtype=np.int64)
    if runs.sum() != height * width or (runs < 0).any():
        raise ValueError(f"the RLE runs cover {int(runs.sum())} pixels, not {height} x {width}")
    values = np.arange(runs.size) % 2 == 1  # runs alternate False, True, False, ...
    return np.repeat(values, runs).reshape((height, width), order="F")
