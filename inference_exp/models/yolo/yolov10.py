"""YOLOv10 object detection: the NMS-free one-to-one head.

The graph outputs ``(B, 300, 6)`` rows ``x1, y1, x2, y2, score, class`` sorted by score; detections are the rows
with ``score > confidence`` in that order, at most ``max_detections``. There is no NMS, so ``iou_threshold`` and
``class_agnostic_nms`` are accepted (calls stay portable across detectors) but change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from inference_exp.models.tasks import ObjectDetectionModel
from inference_exp.models.yolo.decoding import decode_end_to_end
from inference_exp.models.yolo.ultralytics import YOLO_RESIZE_SUBSTITUTES
from inference_exp.packages.inference_config import NmsPostProcessing
from inference_exp.processing import Selection


class YoloV10ObjectDetection(ObjectDetectionModel):
    """YOLOv10 detection (end-to-end head)."""

    post_processing_types = (NmsPostProcessing,)
    resize_mode_substitutes = YOLO_RESIZE_SUBSTITUTES

    def decode(self, raw: list[torch.Tensor], values: Mapping[str, Any]) -> list[Selection]:
        return decode_end_to_end(
            self.detection_output(raw),
            0,
            confidence=values["confidence"],
            max_detections=values["max_detections"],
            inclusive=False,
        )
