"""Predictions that locate objects: boxes, instance masks, keypoints."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from inference_exp.entities._arrays import check_leading_dim, jsonable, names_for, supervision, to_numpy

if TYPE_CHECKING:
    import torch


@dataclass(eq=False)
class Detections:
    """Objects found in one image.

    Attributes:
        xyxy: ``(N, 4)`` float32 boxes ``x1, y1, x2, y2`` in original-image pixels (not rounded).
        class_id: ``(N,)`` int64 class ids (indices into ``class_names``).
        confidence: ``(N,)`` float32 scores in 0..1.
        class_names: the model's class names, index = class id (shared by every prediction of a model).
        image_metadata: facts about the image (e.g. its size), free-form.
        bboxes_metadata: optional free-form dict per box (e.g. ``tracker_id``).
    """

    xyxy: torch.Tensor
    class_id: torch.Tensor
    confidence: torch.Tensor
    class_names: Sequence[str] | None = None
    image_metadata: dict[str, Any] = field(default_factory=dict)
    bboxes_metadata: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        n = len(self)
        check_leading_dim(type(self).__name__, n, class_id=self.class_id, confidence=self.confidence)
        if self.bboxes_metadata is not None and len(self.bboxes_metadata) != n:
            raise ValueError(f"bboxes_metadata has {len(self.bboxes_metadata)} entries for {n} boxes")

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    @property
    def class_name(self) -> list[str]:
        """The class name of every box."""
        return names_for(to_numpy(self.class_id), self.class_names)

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The fields as numpy arrays: ``xyxy``, ``class_id``, ``confidence``, ``class_name``."""
        return {
            "xyxy": to_numpy(self.xyxy),
            "class_id": to_numpy(self.class_id),
            "confidence": to_numpy(self.confidence),
            "class_name": np.array(self.class_name, dtype=object),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary: one dict per box (``xyxy``, ``class_id``, ``class_name``, ``confidence``)."""
        arrays = self.to_numpy()
        return {
            "image_metadata": jsonable(self.image_metadata),
            "detections": [
                {
                    "xyxy": [float(v) for v in arrays["xyxy"][i]],
                    "class_id": int(arrays["class_id"][i]),
                    "class_name": str(arrays["class_name"][i]),
                    "confidence": float(arrays["confidence"][i]),
                }
                for i in range(len(self))
            ],
        }

    def to_supervision(self) -> Any:
        """A ``supervision.Detections`` with the class names in ``data["class_name"]``."""
        sv = supervision()
        arrays = self.to_numpy()
        return sv.Detections(
            xyxy=arrays["xyxy"].astype(np.float32, copy=False),
            confidence=arrays["confidence"],
            class_id=arrays["class_id"].astype(int, copy=False),
            data={"class_name": arrays["class_name"]},
        )


@dataclass(eq=False)
class InstanceDetections(Detections):
    """Objects with a pixel mask each.

    Attributes:
        mask: ``(N, H, W)`` bool masks at the original image size.
    """

    mask: torch.Tensor | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mask is None:
            raise ValueError("InstanceDetections needs a mask tensor")
        check_leading_dim(type(self).__name__, len(self), mask=self.mask)

    def to_numpy(self) -> dict[str, np.ndarray]:
        """As :meth:`Detections.to_numpy` plus ``mask`` (``(N, H, W)`` bool)."""
        arrays = super().to_numpy()
        arrays["mask"] = to_numpy(self.mask)
        return arrays

    def to_supervision(self) -> Any:
        """A ``supervision.Detections`` with ``mask`` set."""
        detections = super().to_supervision()
        detections.mask = to_numpy(self.mask).astype(bool, copy=False)
        return detections


@dataclass(eq=False)
class KeyPoints:
    """Keypoints of the objects found in one image (one row per object, same order as its detections).

    Attributes:
        xy: ``(N, K, 2)`` float32 keypoint coordinates in original-image pixels (0 where a slot is unused
            or below the keypoint threshold).
        confidence: ``(N, K)`` float32 keypoint confidences (0 for unused / thresholded slots).
        class_id: ``(N,)`` int64 class id of each object.
        class_names: the model's class names.
        keypoint_names: per class id, the names of its keypoints.
        skeletons: per class id, the skeleton edges as ``(from, to)`` keypoint indices.
        image_metadata: facts about the image, free-form.
    """

    xy: torch.Tensor
    confidence: torch.Tensor
    class_id: torch.Tensor
    class_names: Sequence[str] | None = None
    keypoint_names: Sequence[Sequence[str]] | None = None
    skeletons: Sequence[Sequence[tuple[int, int]]] | None = None
    image_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_leading_dim("KeyPoints", len(self), confidence=self.confidence, class_id=self.class_id)

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The fields as numpy arrays: ``xy``, ``confidence``, ``class_id``, ``class_name``."""
        class_id = to_numpy(self.class_id)
        return {
            "xy": to_numpy(self.xy),
            "confidence": to_numpy(self.confidence),
            "class_id": class_id,
            "class_name": np.array(names_for(class_id, self.class_names), dtype=object),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary: one dict per object with its keypoints and their confidences."""
        arrays = self.to_numpy()
        return {
            "image_metadata": jsonable(self.image_metadata),
            "keypoints": [
                {
                    "class_id": int(arrays["class_id"][i]),
                    "class_name": str(arrays["class_name"][i]),
                    "xy": arrays["xy"][i].tolist(),
                    "confidence": arrays["confidence"][i].tolist(),
                }
                for i in range(len(self))
            ],
        }

    def to_supervision(self) -> Any:
        """A ``supervision.KeyPoints``."""
        sv = supervision()
        arrays = self.to_numpy()
        # supervision 0.29 renamed ``confidence`` to ``keypoint_confidence``.
        renamed = "keypoint_confidence" in inspect.signature(sv.KeyPoints).parameters
        return sv.KeyPoints(
            xy=arrays["xy"].astype(np.float32, copy=False),
            class_id=arrays["class_id"].astype(int, copy=False),
            data={"class_name": arrays["class_name"]},
            **{"keypoint_confidence" if renamed else "confidence": arrays["confidence"]},
        )

