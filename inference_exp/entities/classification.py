"""Predictions that label a whole image."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from inference_exp.entities._arrays import check_leading_dim, jsonable, names_for, supervision, to_numpy

if TYPE_CHECKING:
    import torch


@dataclass(eq=False)
class ClassificationPrediction:
    """Single-label classification of a batch of images (one row per image).

    Attributes:
        class_id: ``(B,)`` int64 top class of each image.
        confidence: ``(B,)`` float32 probability of the top class.
        probabilities: ``(B, C)`` float32 full probability vector of each image.
        class_names: the model's class names, index = class id.
        images_metadata: one free-form dict per image.
    """

    class_id: torch.Tensor
    confidence: torch.Tensor
    probabilities: torch.Tensor
    class_names: Sequence[str] | None = None
    images_metadata: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_leading_dim(
            "ClassificationPrediction", len(self), confidence=self.confidence, probabilities=self.probabilities
        )

    def __len__(self) -> int:
        return int(self.class_id.shape[0])

    def __iter__(self) -> Iterator[ClassificationPrediction]:
        """One single-image prediction per image of the batch."""
        for i in range(len(self)):
            yield ClassificationPrediction(
                class_id=self.class_id[i : i + 1],
                confidence=self.confidence[i : i + 1],
                probabilities=self.probabilities[i : i + 1],
                class_names=self.class_names,
                images_metadata=self.images_metadata[i : i + 1],
            )

    @property
    def class_name(self) -> list[str]:
        """The top class name of every image."""
        return names_for(to_numpy(self.class_id), self.class_names)

    def top_k(self, k: int = 5) -> list[list[tuple[int, str, float]]]:
        """Per image, the ``k`` most probable ``(class_id, class_name, probability)``, most probable first."""
        probabilities = to_numpy(self.probabilities)
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [(int(c), name, float(p[c])) for c, name in zip(row, names_for(row, self.class_names), strict=True)]
            for row, p in zip(order, probabilities, strict=True)
        ]

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The fields as numpy arrays: ``class_id``, ``confidence``, ``probabilities``, ``class_name``."""
        return {
            "class_id": to_numpy(self.class_id),
            "confidence": to_numpy(self.confidence),
            "probabilities": to_numpy(self.probabilities),
            "class_name": np.array(self.class_name, dtype=object),
        }

    def to_dict(self, top_k: int = 5) -> dict[str, Any]:
        """A JSON-serialisable summary: per image the top class and the ``top_k`` most probable classes."""
        return {
            "predictions": [
                {
                    "class_id": ranked[0][0],
                    "class_name": ranked[0][1],
                    "confidence": ranked[0][2],
                    "top": [{"class_id": c, "class_name": n, "confidence": p} for c, n, p in ranked],
                    "image_metadata": jsonable(meta),
                }
                for ranked, meta in zip(
                    self.top_k(top_k), self.images_metadata or [{}] * len(self), strict=True
                )
            ]
        }

    def to_supervision(self) -> Any:
        """A ``supervision.Classifications`` of the first image (iterate the prediction for the others)."""
        sv = supervision()
        probabilities = to_numpy(self.probabilities)[0]
        return sv.Classifications(class_id=np.arange(probabilities.shape[0]), confidence=probabilities)


@dataclass(eq=False)
class MultiLabelClassificationPrediction:
    """Multi-label classification of one image.

    Attributes:
        class_ids: ``(n,)`` int64 ids of the classes whose probability reached the threshold.
        confidence: ``(n,)`` float32 probabilities of those classes.
        probabilities: ``(C,)`` float32 probability of every class.
        class_names: the model's class names.
        image_metadata: free-form facts about the image.
    """

    class_ids: torch.Tensor
    confidence: torch.Tensor
    probabilities: torch.Tensor
    class_names: Sequence[str] | None = None
    image_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_leading_dim("MultiLabelClassificationPrediction", len(self), confidence=self.confidence)

    def __len__(self) -> int:
        return int(self.class_ids.shape[0])

    @property
    def class_name(self) -> list[str]:
        """The names of the predicted classes."""
        return names_for(to_numpy(self.class_ids), self.class_names)

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The fields as numpy arrays: ``class_ids``, ``confidence``, ``probabilities``, ``class_name``."""
        return {
            "class_ids": to_numpy(self.class_ids),
            "confidence": to_numpy(self.confidence),
            "probabilities": to_numpy(self.probabilities),
            "class_name": np.array(self.class_name, dtype=object),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary of the predicted classes."""
        arrays = self.to_numpy()
        return {
            "image_metadata": jsonable(self.image_metadata),
            "predictions": [
                {"class_id": int(c), "class_name": str(n), "confidence": float(p)}
                for c, n, p in zip(arrays["class_ids"], arrays["class_name"], arrays["confidence"], strict=True)
            ],
        }

    def to_supervision(self) -> Any:
        """A ``supervision.Classifications`` of the predicted classes."""
        sv = supervision()
        arrays = self.to_numpy()
        return sv.Classifications(class_id=arrays["class_ids"].astype(int), confidence=arrays["confidence"])
