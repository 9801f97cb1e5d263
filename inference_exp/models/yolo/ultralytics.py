"""YOLOv8 / v9 / v11 / v12 (one head layout, so one class per task serves all four architectures).

Raw head ``(B, 4 + C + E, A)`` decoded with class-aware NMS; with ``post_processing.fused`` in
``inference_config.json`` the graph already ran NMS and outputs ``(B, N, 6 + E)`` rows, which are only filtered
by ``score >= confidence`` (and capped at ``max_detections``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from inference_exp.models.tasks import (
    InstanceSegmentationModel,
    KeyPointsDetectionModel,
    ObjectDetectionModel,
)
from inference_exp.models.yolo.decoding import decode_anchor_free, decode_end_to_end
from inference_exp.packages.inference_config import NmsPostProcessing, ResizeMode
from inference_exp.processing import Selection

#: YOLO families cannot run ``fit-longer-edge`` (each image would need its own size); like the Roboflow
#: clients, they letterbox with grey padding instead.
YOLO_RESIZE_SUBSTITUTES: Mapping[str, tuple[ResizeMode, int | None]] = {"fit-longer-edge": ("letterbox", 127)}


class UltralyticsLayout:
    """Decoding of the Ultralytics head, mixed into the task classes below (needs a detection task's
    ``config``, ``class_names``, ``detection_output`` and ``extra_columns``)."""

    post_processing_types: ClassVar[tuple[type, ...]] = (NmsPostProcessing,)
    resize_mode_substitutes = YOLO_RESIZE_SUBSTITUTES

    @property
    def nms_fused(self) -> bool:
        """Whether the graph outputs post-NMS rows (``post_processing.fused``)."""
        post_processing = self.config.post_processing  # type: ignore[attr-defined]
        return isinstance(post_processing, NmsPostProcessing) and post_processing.fused

    def decode(self, raw: list[torch.Tensor], values: Mapping[str, Any]) -> list[Selection]:
        output = self.detection_output(raw)  # type: ignore[attr-defined]
        extras = self.extra_columns(raw)  # type: ignore[attr-defined]
        if self.nms_fused:
            return decode_end_to_end(
                output, extras, confidence=values["confidence"], max_detections=values["max_detections"], inclusive=True
            )
        return decode_anchor_free(
            output,
            len(self.class_names),  # type: ignore[attr-defined]
            extras,
            confidence=values["confidence"],
            iou_threshold=values["iou_threshold"],
            max_detections=values["max_detections"],
            class_agnostic_nms=values["class_agnostic_nms"],
        )


class YoloV8ObjectDetection(UltralyticsLayout, ObjectDetectionModel):
    """YOLOv8/9/11/12 object detection."""


class YoloV8InstanceSegmentation(UltralyticsLayout, InstanceSegmentationModel):
    """YOLOv8/9/11/12 instance segmentation (32 mask coefficients per box, prototypes at 1/4 resolution)."""


class YoloV8KeyPointsDetection(UltralyticsLayout, KeyPointsDetectionModel):
    """YOLOv8/9/11/12 pose: ``x, y, confidence`` per keypoint slot after the class scores."""
