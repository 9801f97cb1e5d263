"""PP-OCR text detection (architecture ``pp-ocrv4-det``, task ``object-detection``): images → text quadrilaterals.

The network maps a BGR image normalised to ``(x / 255 - 0.5) / 0.5`` to a ``(B, 1, H, W)`` text probability
map at the input's resolution. Each image gets its own network size (PaddleOCR's "limit side" rule, see
:func:`detection_input_size`) and runs alone; the map is decoded by :mod:`~inference_exp.models.ppocr.db_postprocess`
and the quadrilaterals are mapped back to original pixels through the image's recorded transform.

Call parameters (defaults: the PP-OCRv4 reference): ``threshold`` (0.3), ``box_threshold`` (0.5),
``unclip_ratio`` (1.6), ``max_candidates`` (1000), ``use_dilation`` (True), ``limit_side_len`` (736),
``limit_type`` (``"min"``), plus ``input_color_format`` and ``image_size`` (an explicit network size, rounded
up to multiples of 32, instead of the limit rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from inference_exp.entities.ocr import TextDetections
from inference_exp.errors import InvalidParameterError
from inference_exp.inputs import normalize_images
from inference_exp.models.ppocr.db_postprocess import DBParameters, text_regions
from inference_exp.models.ppocr.package import DETECTION_LIMIT_SIDE, DETECTION_SIZE_MULTIPLE
from inference_exp.models.tasks import Parameter, TaskModel, flag, fraction, output_of_rank, positive_int
from inference_exp.processing import ImageTransform

#: Regions whose top or left edge is shorter than this many original pixels are dropped.
MIN_REGION_SIDE = 4.0
LIMIT_TYPES = ("min", "max")
_DB_DEFAULTS = DBParameters()


def positive_number(keyword: str, value: Any) -> float:
    """A number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidParameterError(f"{keyword} must be a number > 0, not {value!r}.")
    return float(value)


def limit_type(keyword: str, value: Any) -> str:
    """``"min"`` or ``"max"``."""
    if value not in LIMIT_TYPES:
        raise InvalidParameterError(f"{keyword} must be one of {', '.join(map(repr, LIMIT_TYPES))}, not {value!r}.")
    return value


THRESHOLD = Parameter("threshold", _DB_DEFAULTS.threshold, fraction, aliases=("thresh",))
BOX_THRESHOLD = Parameter("box_threshold", _DB_DEFAULTS.box_threshold, fraction, aliases=("box_thresh",))
UNCLIP_RATIO = Parameter("unclip_ratio", _DB_DEFAULTS.unclip_ratio, positive_number)
MAX_CANDIDATES = Parameter("max_candidates", _DB_DEFAULTS.max_candidates, positive_int)
USE_DILATION = Parameter("use_dilation", _DB_DEFAULTS.use_dilation, flag)
LIMIT_SIDE_LEN = Parameter("limit_side_len", DETECTION_LIMIT_SIDE, positive_int)
LIMIT_TYPE = Parameter("limit_type", "min", limit_type)


def detection_input_size(height: int, width: int, limit_side_len: int, limit: str = "min") -> tuple[int, int]:
    """The ``(width, height)`` network size of a ``height`` x ``width`` image (PaddleOCR's limit-side rule).

    ``limit="min"`` scales the image up so that its shorter side reaches ``limit_side_len`` (never down);
    ``limit="max"`` scales it down so that its longer side fits ``limit_side_len`` (never up). Each scaled side
    is truncated to whole pixels, then rounded to the nearest multiple of 32 (Python ``round``: halves to even),
    and is at least 32.
    """
    if limit == "min":
        shorter = min(height, width)
        ratio = limit_side_len / shorter if shorter < limit_side_len else 1.0
    else:
        longer = max(height, width)
        ratio = limit_side_len / longer if longer > limit_side_len else 1.0
    step = DETECTION_SIZE_MULTIPLE

    def side(length: int) -> int:
        return max(step, round(int(length * ratio) / step) * step)

    return side(width), side(height)


class PPOCRTextDetection(TaskModel):
    """PaddleOCR's DB text detector: ``infer`` returns one :class:`TextDetections` per image (class ``text``)."""

    task = "object-detection"
    parameters = (THRESHOLD, BOX_THRESHOLD, UNCLIP_RATIO, MAX_CANDIDATES, USE_DILATION, LIMIT_SIDE_LEN, LIMIT_TYPE)
    post_processing_types = ()

    def infer(self, images: Any, **params: Any) -> list[TextDetections]:
        """Detect text regions in ``images`` (see the module docstring for the parameters)."""
        input_color_format = params.pop("input_color_format", None)
        image_size = params.pop("image_size", None)
        values = self.resolve(params)
        results: list[TextDetections] = []
        for image in normalize_images(images, input_color_format=input_color_format, auto_orient=self.preprocessor.auto_orient):
            size = image_size
            if size is None:
                size = detection_input_size(image.height, image.width, values["limit_side_len"], values["limit_type"])
            batch, transforms = self.pre_process([image], image_size=size)
            results.extend(self.predictions(self.forward(batch), transforms, values))
        return results

    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> list[TextDetections]:
        """Probability maps → text regions in original pixels, one :class:`TextDetections` per transform."""
        maps = output_of_rank(raw, 4, "text probability map")
        parameters = DBParameters(
            threshold=values["threshold"],
            box_threshold=values["box_threshold"],
            unclip_ratio=values["unclip_ratio"],
            max_candidates=values["max_candidates"],
            use_dilation=values["use_dilation"],
        )
        results = []
        for probability, transform in zip(maps, transforms, strict=True):
            quadrilaterals, scores = text_regions(probability[0].float().cpu().numpy(), parameters)
            polygons = transform.points_to_original(quadrilaterals)
            top = np.linalg.norm(polygons[:, 0] - polygons[:, 1], axis=-1)
            left = np.linalg.norm(polygons[:, 0] - polygons[:, 3], axis=-1)
            keep = (top >= MIN_REGION_SIDE) & (left >= MIN_REGION_SIDE)
            results.append(self._text_detections(polygons[keep], scores[keep], transform))
        return results

    def _text_detections(self, polygons: np.ndarray, scores: np.ndarray, transform: ImageTransform) -> TextDetections:
        xyxy = np.concatenate([polygons.min(axis=1), polygons.max(axis=1)], axis=1).reshape(-1, 4)
        return TextDetections(
            xyxy=torch.from_numpy(xyxy).to(self.device),
            class_id=torch.zeros(len(polygons), dtype=torch.int64, device=self.device),
            confidence=torch.from_numpy(scores).to(self.device),
            class_names=self.class_names,
            image_metadata=transform.to_metadata(),
            polygons=torch.from_numpy(np.ascontiguousarray(polygons, dtype=np.float32)).to(self.device),
        )
