"""The files of PP-OCR packages, and the ``inference_config.json`` each family is written with.

The configs below reproduce PaddleOCR's reference pre-processing with the shared schema (``model-packages.md``
§3): BGR input, ``stretch`` resize, ``/ 255`` then ``(x - 0.5) / 0.5``. What the schema cannot say (the detector's
per-image "limit side" size rule, the recogniser's batch padding) is done by the families and documented there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inference_exp.errors import CorruptedModelPackageError

#: The recogniser's character dictionary, one character per line.
CHARACTERS_FILE = "characters.txt"
#: The index of the CTC blank in the recogniser's output classes.
CTC_BLANK_INDEX = 0

#: Network side (pixels) the detector's limit rule aims at, and the multiple every network side is rounded to.
DETECTION_LIMIT_SIDE = 736
DETECTION_SIZE_MULTIPLE = 32
#: Height of the recogniser's input, and the narrowest width a batch is padded to (PaddleOCR's ``3, 48, 320``).
RECOGNITION_HEIGHT = 48
RECOGNITION_MIN_WIDTH = 320
#: Crops per recognition batch (each batch is padded to its widest crop).
RECOGNITION_BATCH_SIZE = 6

_HALF = [0.5, 0.5, 0.5]


def _network_input(height: int, width: int, dynamic_mode: dict[str, Any]) -> dict[str, Any]:
    return {
        "training_input_size": {"height": height, "width": width},
        "dynamic_spatial_size_supported": True,
        "dynamic_spatial_size_mode": dynamic_mode,
        "color_mode": "bgr",
        "resize_mode": "stretch",
        "padding_value": None,
        "input_channels": 3,
        "scaling_factor": 255,
        "normalization": [_HALF, _HALF],
    }


def detection_inference_config() -> dict[str, Any]:
    """``inference_config.json`` of a PP-OCR text-detection package.

    Each image is stretched to its own size, a multiple of 32 (``pad-to-be-divisible``) chosen by the family's
    limit rule; ``training_input_size`` records the nominal limit side (736).
    """
    return {
        "network_input": _network_input(
            DETECTION_LIMIT_SIDE,
            DETECTION_LIMIT_SIDE,
            {"type": "pad-to-be-divisible", "value": DETECTION_SIZE_MULTIPLE},
        ),
        "forward_pass": {"static_batch_size": None, "max_dynamic_batch_size": None},
    }


def recognition_inference_config() -> dict[str, Any]:
    """``inference_config.json`` of a PP-OCR text-recognition package.

    ``training_input_size`` is PaddleOCR's ``48 x 320``: every crop is stretched to height 48 keeping its aspect
    ratio (``any-size``), and a batch is padded to at least 320 wide; ``max_dynamic_batch_size`` is the number of
    crops per batch.
    """
    return {
        "network_input": _network_input(RECOGNITION_HEIGHT, RECOGNITION_MIN_WIDTH, {"type": "any-size"}),
        "forward_pass": {"static_batch_size": None, "max_dynamic_batch_size": RECOGNITION_BATCH_SIZE},
    }


def read_characters(path: str | Path) -> tuple[str, ...]:
    """The recogniser's output classes from its ``characters.txt``.

    The file is PaddleOCR's dictionary: one character per line (UTF-8, lines taken verbatim apart from the line
    break, so whitespace characters survive). The classes are PaddleOCR's CTC convention: the blank first
    (index 0, returned as ``""``), then the dictionary, then a space (``use_space_char``).

    Raises:
        CorruptedModelPackageError: the file is missing, not UTF-8, empty, or has an empty line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorruptedModelPackageError(
            f"The model package is incomplete: {path.name} is missing from {path.parent}."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptedModelPackageError(f"{path} cannot be read as UTF-8 text: {error}.") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    characters = [line[:-1] if line.endswith("\r") else line for line in lines]
    if not characters:
        raise CorruptedModelPackageError(f"{path}: the character dictionary is empty.")
    if "" in characters:
        raise CorruptedModelPackageError(
            f"{path}: line {characters.index('') + 1} is empty; every line must hold one character."
        )
    return ("", *characters, " ")
