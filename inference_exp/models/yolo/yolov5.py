"""YOLOv5 object detection.

The original anchor-based head outputs ``(B, A, 5 + C)`` rows with an objectness column; a detection's score is
``objectness * class score`` and candidates need ``objectness > confidence`` (YOLOv5's ``detect.py``). The
anchor-free "u" exports (YOLOv5nu, …, trained with Ultralytics ≥ 8) have the Ultralytics layout
``(B, 4 + C, A)``; the two are told apart by which axis matches the class count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from inference_exp.models.tasks import ObjectDetectionModel
from inference_exp.models.yolo.decoding import decode_anchor_free, decode_objectness, is_objectness_layout
from inference_exp.models.yolo.ultralytics import YOLO_RESIZE_SUBSTITUTES
from inference_exp.packages.inference_config import NmsPostProcessing
from inference_exp.processing import Selection


class YoloV5ObjectDetection(ObjectDetectionModel):
    """YOLOv5 detection, objectness or anchor-free layout."""

    post_processing_types = (NmsPostProcessing,)
    resize_mode_substitutes = YOLO_RESIZE_SUBSTITUTES

    def decode(self, raw: list[torch.Tensor], values: Mapping[str, Any]) -> list[Selection]:
        output, classes = self.detection_output(raw), len(self.class_names)
        decoder = decode_objectness if is_objectness_layout(output, classes, 0) else decode_anchor_free
        return decoder(output, classes, 0, **values)
