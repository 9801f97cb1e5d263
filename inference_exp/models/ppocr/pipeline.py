"""OCR pipeline: a text detector and a text recogniser → the text lines of each image, in reading order.

Per image: detect text quadrilaterals; warp each one, its vertices snapped to whole pixels inside the image as
PaddleOCR does (:func:`~inference_exp.models.ppocr.geometry.snap_to_pixels`), to an upright crop
(:func:`~inference_exp.models.ppocr.geometry.crop_text_region`: perspective warp, tall crops turned 90 degrees);
read all crops of the image in one recogniser call; drop lines whose recognition confidence is below
``text_threshold`` (0.5, the reference's ``text_score``); order the rest for reading
(:func:`~inference_exp.models.ppocr.geometry.reading_order`).

Compared with RapidOCR's pipeline there is no text-angle classifier (upside-down lines are read as they are),
and images are given to the detector as they are: RapidOCR first shrinks images longer than 2000 px and pads
images wider than 8:1 or lower than 30 px; here pass ``limit_type="max"`` (with ``limit_side_len``) to bound the
detector's input size for such images.

>>> pipeline = OCRPipeline.from_pretrained("pp-ocrv4-det", "pp-ocrv4-rec")
>>> [result] = pipeline("page.png")
>>> print(result.text)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from inference_exp.entities.ocr import OCRResult, RecognizedText, TextDetections
from inference_exp.errors import InvalidParameterError, ModelRuntimeError
from inference_exp.inputs import ColorFormat, NormalizedImage, normalize_images
from inference_exp.models.base import Model
from inference_exp.models.ppocr._images import hwc_uint8
from inference_exp.models.ppocr.geometry import crop_text_region, reading_order, snap_to_pixels
from inference_exp.models.tasks import fraction

#: Default detector and recogniser model ids (as installed by ``scripts/install_ppocr_packages.py``).
DEFAULT_DETECTOR_ID = "pp-ocrv4-det"
DEFAULT_RECOGNIZER_ID = "pp-ocrv4-rec"
DEFAULT_TEXT_THRESHOLD = 0.5


class OCRPipeline:
    """Reads the text lines of images with a text-detection model and a text-recognition model.

    Args:
        detector: a model of task ``object-detection`` whose ``infer`` returns :class:`TextDetections`
            (e.g. :class:`~inference_exp.models.ppocr.detection.PPOCRTextDetection`).
        recognizer: a model of task ``text-only-ocr`` whose ``infer(crops)`` returns one
            :class:`RecognizedText` per crop (e.g. :class:`~inference_exp.models.ppocr.recognition.PPOCRTextRecognition`).
    """

    def __init__(self, detector: Model, recognizer: Model) -> None:
        for model, task, role in ((detector, "object-detection", "detector"), (recognizer, "text-only-ocr", "recognizer")):
            if getattr(model, "task", None) != task:
                raise InvalidParameterError(
                    f"The OCR pipeline's {role} must be a {task!r} model, not {type(model).__name__} "
                    f"(task {getattr(model, 'task', None)!r})."
                )
        self.detector = detector
        self.recognizer = recognizer

    @classmethod
    def from_pretrained(
        cls, detector_id: str = DEFAULT_DETECTOR_ID, recognizer_id: str = DEFAULT_RECOGNIZER_ID, **kwargs: Any
    ) -> OCRPipeline:
        """Load both models with :meth:`AutoModel.from_pretrained <inference_exp.AutoModel.from_pretrained>`.

        Args:
            detector_id: model id or package path of the text detector.
            recognizer_id: model id or package path of the text recogniser.
            **kwargs: passed to both ``from_pretrained`` calls (``device``, ``backend``, ``api_key``, …).
        """
        from inference_exp.auto_model import AutoModel

        return cls(AutoModel.from_pretrained(detector_id, **kwargs), AutoModel.from_pretrained(recognizer_id, **kwargs))

    def infer(
        self,
        images: Any,
        *,
        input_color_format: ColorFormat | None = None,
        text_threshold: float = DEFAULT_TEXT_THRESHOLD,
        **detection_params: Any,
    ) -> list[OCRResult]:
        """Read the text lines of ``images``: one :class:`OCRResult` per image.

        Args:
            images: anything :func:`~inference_exp.inputs.normalize_images` accepts.
            input_color_format: ``"rgb"`` / ``"bgr"`` channel order of numpy/tensor inputs.
            text_threshold: lines recognised with a lower confidence are dropped (0..1).
            **detection_params: passed to the detector (e.g. ``box_threshold``, ``unclip_ratio``).
        """
        text_threshold = fraction("text_threshold", text_threshold)
        normalized = normalize_images(images, input_color_format=input_color_format)
        detections = self.detector.infer(normalized, **detection_params)
        if len(detections) != len(normalized):
            raise ModelRuntimeError(
                f"The detector returned {len(detections)} results for {len(normalized)} images."
            )
        return [
            self._read(image, found, text_threshold) for image, found in zip(normalized, detections, strict=True)
        ]

    def __call__(self, images: Any, **params: Any) -> list[OCRResult]:
        return self.infer(images, **params)

    def _read(self, image: NormalizedImage, detections: TextDetections, text_threshold: float) -> OCRResult:
        polygons = getattr(detections, "polygons", None)
        if polygons is None:
            raise ModelRuntimeError(f"The detector {type(self.detector).__name__} returned boxes without polygons.")
        quadrilaterals = polygons.detach().cpu().numpy()
        pixels = hwc_uint8(image)
        crops = [
            crop_text_region(pixels, snap_to_pixels(quadrilateral, image.width, image.height))
            for quadrilateral in quadrilaterals
        ]
        texts: Sequence[RecognizedText] = (
            self.recognizer.infer(crops, input_color_format=image.color_format) if crops else []
        )
        confidence = np.array([text.confidence for text in texts], dtype=np.float32)
        kept = np.flatnonzero(confidence >= text_threshold)
        order = kept[reading_order(quadrilaterals[kept])]
        index = torch.from_numpy(order).to(polygons.device)
        return OCRResult(
            polygons=polygons[index],
            xyxy=detections.xyxy[index],
            texts=[texts[i].text for i in order.tolist()],
            confidence=torch.from_numpy(confidence[order]).to(polygons.device),
            detection_confidence=detections.confidence[index],
            image_metadata=dict(detections.image_metadata),
        )
