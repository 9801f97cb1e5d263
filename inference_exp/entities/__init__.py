"""Typed predictions returned by every model.

Tensor convention: every array field is a ``torch.Tensor`` on the device the model ran on (``.to_numpy()``
copies the fields to numpy on the CPU). Coordinates are float32 pixels of the **original** image, not
rounded (``x1, y1, x2, y2`` for boxes, ``x, y`` for keypoints); class ids are int64; masks are bool at the
original image size; probabilities and confidences are float32 in 0..1. Every entity carries the model's
``class_names`` and converts to the ``supervision`` library's types with ``.to_supervision()`` (install the
``supervision`` extra).
"""

from inference_exp.entities.classification import ClassificationPrediction, MultiLabelClassificationPrediction
from inference_exp.entities.detections import Detections, InstanceDetections, KeyPoints
from inference_exp.entities.embeddings import Embeddings
from inference_exp.entities.ocr import OCRLine, OCRResult, RecognizedText, TextDetections
from inference_exp.entities.segmentation import SemanticSegmentationResult

__all__ = [
    "ClassificationPrediction",
    "Detections",
    "Embeddings",
    "InstanceDetections",
    "KeyPoints",
    "MultiLabelClassificationPrediction",
    "OCRLine",
    "OCRResult",
    "RecognizedText",
    "SemanticSegmentationResult",
    "TextDetections",
]
