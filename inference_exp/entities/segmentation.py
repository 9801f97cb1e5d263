"""Dense per-pixel predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from inference_exp.entities._arrays import jsonable, names_for, supervision, to_numpy

if TYPE_CHECKING:
    import torch


@dataclass(eq=False)
class SemanticSegmentationResult:
    """Per-pixel classes of one image.

    Attributes:
        segmentation_map: ``(H, W)`` int64 class id of every pixel at the original image size (the
            background class where the top probability is below the threshold).
        confidence: ``(H, W)`` float32 top probability of every pixel (0 where below the threshold).
        class_names: the model's class names.
        image_metadata: free-form facts about the image.
    """

    segmentation_map: torch.Tensor
    confidence: torch.Tensor
    class_names: Sequence[str] | None = None
    image_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if tuple(self.segmentation_map.shape) != tuple(self.confidence.shape):
            raise ValueError(
                f"segmentation_map {tuple(self.segmentation_map.shape)} and confidence "
                f"{tuple(self.confidence.shape)} must have the same shape"
            )

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The fields as numpy arrays: ``segmentation_map``, ``confidence``."""
        return {"segmentation_map": to_numpy(self.segmentation_map), "confidence": to_numpy(self.confidence)}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary: the pixel count of every class present."""
        classes, counts = np.unique(to_numpy(self.segmentation_map), return_counts=True)
        return {
            "image_metadata": jsonable(self.image_metadata),
            "classes": [
                {"class_id": int(c), "class_name": n, "pixels": int(k)}
                for c, n, k in zip(classes, names_for(classes, self.class_names), counts, strict=True)
            ],
        }

    def to_supervision(self) -> Any:
        """A ``supervision.Detections`` with one mask (and its bounding box) per class present."""
        sv = supervision()
        segmentation = to_numpy(self.segmentation_map)
        confidence = to_numpy(self.confidence)
        classes = [c for c in np.unique(segmentation) if c >= 0]
        masks = np.stack([segmentation == c for c in classes]) if classes else np.zeros((0, *segmentation.shape), bool)
        scores = np.array([confidence[m].mean() for m in masks], dtype=np.float32)
        class_ids = np.array(classes, dtype=int)
        return sv.Detections(
            xyxy=sv.mask_to_xyxy(masks).astype(np.float32),
            mask=masks,
            class_id=class_ids,
            confidence=scores,
            data={"class_name": np.array(names_for(class_ids, self.class_names), dtype=object)},
        )
