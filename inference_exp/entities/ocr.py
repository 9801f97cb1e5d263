"""Predictions of text detection, text recognition and whole OCR pipelines.

* :class:`TextDetections` — text regions of one image: the :class:`~inference_exp.entities.Detections` fields
  (``xyxy`` = the bounding box of each region, class ``text``) plus the region's quadrilateral.
* :class:`RecognizedText` — the text read from one cropped text line, with its confidence.
* :class:`OCRResult` — one image read by an OCR pipeline: every kept line with its quadrilateral, bounding box,
  text and confidences, in reading order; :attr:`OCRResult.lines` gives them as :class:`OCRLine` records.

Quadrilaterals are ``(N, 4, 2)`` float32 ``x, y`` vertices in original-image pixels, clockwise (in image
coordinates, y pointing down) starting from the top-left corner of the text: ``top-left, top-right,
bottom-right, bottom-left``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from inference_exp.entities._arrays import check_leading_dim, jsonable, supervision, to_numpy
from inference_exp.entities.detections import Detections

if TYPE_CHECKING:
    import torch


def _check_quadrilaterals(owner: str, polygons: torch.Tensor | None, length: int) -> None:
    if polygons is None:
        raise ValueError(f"{owner} needs a polygons tensor of shape (N, 4, 2)")
    check_leading_dim(owner, length, polygons=polygons)
    if tuple(polygons.shape[1:]) != (4, 2):
        raise ValueError(f"{owner}.polygons has shape {tuple(polygons.shape)}; expected ({length}, 4, 2)")


@dataclass(eq=False)
class TextDetections(Detections):
    """Text regions found in one image.

    Attributes:
        polygons: ``(N, 4, 2)`` float32 quadrilaterals in original-image pixels, clockwise from the top-left
            corner; ``xyxy`` holds their bounding boxes and ``confidence`` the detector's region scores.
    """

    polygons: torch.Tensor | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_quadrilaterals(type(self).__name__, self.polygons, len(self))

    def to_numpy(self) -> dict[str, np.ndarray]:
        """As :meth:`Detections.to_numpy` plus ``polygons`` (``(N, 4, 2)`` float32)."""
        arrays = super().to_numpy()
        arrays["polygons"] = to_numpy(self.polygons)
        return arrays

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`Detections.to_dict`, each detection with its ``polygon`` (four ``[x, y]`` pairs)."""
        summary = super().to_dict()
        for entry, polygon in zip(summary["detections"], to_numpy(self.polygons).tolist(), strict=True):
            entry["polygon"] = polygon
        return summary

    def to_supervision(self) -> Any:
        """A ``supervision.Detections`` with the quadrilaterals in ``data["polygon"]``."""
        detections = super().to_supervision()
        detections.data["polygon"] = to_numpy(self.polygons).astype(np.float32, copy=False)
        return detections


@dataclass(frozen=True)
class RecognizedText:
    """The text of one cropped text line.

    Attributes:
        text: the decoded characters (empty when nothing was read).
        confidence: mean probability of the decoded characters (0.0 for an empty text).
    """

    text: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """``{"text": ..., "confidence": ...}``."""
        return {"text": self.text, "confidence": self.confidence}


@dataclass(frozen=True)
class OCRLine:
    """One line of an :class:`OCRResult`, as plain Python values.

    Attributes:
        polygon: four ``(x, y)`` vertices, clockwise from the top-left corner (original-image pixels).
        xyxy: the polygon's bounding box ``x1, y1, x2, y2``.
        text: the recognised text.
        confidence: the recognition confidence (mean character probability).
        detection_confidence: the detector's score of the region.
    """

    polygon: tuple[tuple[float, float], ...]
    xyxy: tuple[float, float, float, float]
    text: str
    confidence: float
    detection_confidence: float

    def to_dict(self) -> dict[str, Any]:
        """The line as a JSON-serialisable dict."""
        return {
            "polygon": [list(point) for point in self.polygon],
            "xyxy": list(self.xyxy),
            "text": self.text,
            "confidence": self.confidence,
            "detection_confidence": self.detection_confidence,
        }


@dataclass(eq=False)
class OCRResult:
    """The text lines read in one image, in reading order (top to bottom, left to right within a row).

    Attributes:
        polygons: ``(N, 4, 2)`` float32 quadrilaterals in original-image pixels, clockwise from top-left.
        xyxy: ``(N, 4)`` float32 bounding boxes of the quadrilaterals.
        texts: the recognised text of each line.
        confidence: ``(N,)`` float32 recognition confidences (mean character probability).
        detection_confidence: ``(N,)`` float32 detector scores of the regions.
        image_metadata: facts about the image (e.g. its size), free-form.
    """

    polygons: torch.Tensor
    xyxy: torch.Tensor
    texts: list[str]
    confidence: torch.Tensor
    detection_confidence: torch.Tensor
    image_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self)
        _check_quadrilaterals("OCRResult", self.polygons, n)
        check_leading_dim(
            "OCRResult", n, xyxy=self.xyxy, confidence=self.confidence, detection_confidence=self.detection_confidence
        )
        if len(self.texts) != n:
            raise ValueError(f"OCRResult.texts has {len(self.texts)} entries for {n} lines")

    def __len__(self) -> int:
        return int(self.polygons.shape[0])

    @property
    def text(self) -> str:
        """All lines joined with newlines, in reading order."""
        return "\n".join(self.texts)

    @property
    def lines(self) -> list[OCRLine]:
        """The lines as :class:`OCRLine` records, in reading order."""
        arrays = self.to_numpy()
        return [
            OCRLine(
                polygon=tuple((float(x), float(y)) for x, y in arrays["polygons"][i]),
                xyxy=tuple(float(v) for v in arrays["xyxy"][i]),  # type: ignore[arg-type]
                text=self.texts[i],
                confidence=float(arrays["confidence"][i]),
                detection_confidence=float(arrays["detection_confidence"][i]),
            )
            for i in range(len(self))
        ]

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The fields as numpy arrays: ``polygons``, ``xyxy``, ``text`` (object), ``confidence``,
        ``detection_confidence``."""
        return {
            "polygons": to_numpy(self.polygons),
            "xyxy": to_numpy(self.xyxy),
            "text": np.array(self.texts, dtype=object),
            "confidence": to_numpy(self.confidence),
            "detection_confidence": to_numpy(self.detection_confidence),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary: the image metadata and one dict per line (see :meth:`OCRLine.to_dict`)."""
        return {"image_metadata": jsonable(self.image_metadata), "lines": [line.to_dict() for line in self.lines]}

    def to_supervision(self) -> Any:
        """A ``supervision.Detections``: boxes, recognition confidences, class ``text`` (id 0), the texts in
        ``data["text"]`` and the quadrilaterals in ``data["polygon"]``."""
        sv = supervision()
        arrays = self.to_numpy()
        n = len(self)
        return sv.Detections(
            xyxy=arrays["xyxy"].astype(np.float32, copy=False).reshape(n, 4),
            confidence=arrays["confidence"],
            class_id=np.zeros(n, dtype=int),
            data={
                "text": arrays["text"],
                "class_name": np.array(["text"] * n, dtype=object),
                "polygon": arrays["polygons"].astype(np.float32, copy=False).reshape(n, 4, 2),
            },
        )
