"""Classification heads and keypoint post-processing."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from inference_exp.errors import InvalidParameterError
from inference_exp.packages.inference_config import (
    PostProcessing,
    SigmoidPostProcessing,
    SoftmaxPostProcessing,
)
from inference_exp.processing.transforms import ImageTransform


def class_probabilities(
    outputs: torch.Tensor, post_processing: PostProcessing | None, *, multi_label: bool = False
) -> torch.Tensor:
    """Probabilities from a ``(B, C)`` classification head.

    The config's ``post_processing`` decides: ``softmax`` / ``sigmoid`` apply that function unless ``fused``
    (the graph already outputs probabilities). Without a classification ``post_processing`` the head is taken
    as raw logits: softmax, or sigmoid when ``multi_label``.
    """
    if isinstance(post_processing, (SoftmaxPostProcessing, SigmoidPostProcessing)):
        if post_processing.fused:
            return outputs.to(torch.float32)
        multi_label = isinstance(post_processing, SigmoidPostProcessing)
    outputs = outputs.to(torch.float32)
    return torch.sigmoid(outputs) if multi_label else torch.softmax(outputs, dim=-1)


def keypoints_to_original(
    keypoints: torch.Tensor,
    transform: ImageTransform,
    *,
    confidence_threshold: float = 0.0,
    class_ids: torch.Tensor | None = None,
    keypoints_per_class: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Map ``(N, K, 3)`` network-space keypoints ``x, y, confidence`` to the original image.

    Slots whose confidence is below ``confidence_threshold``, and (with ``class_ids`` and
    ``keypoints_per_class``) slots beyond the keypoint count of the detection's class, are zeroed
    (coordinates and confidence). Coordinates are clipped to the image like boxes.

    Returns:
        ``(xy, confidence)``: ``(N, K, 2)`` float32 original pixels and ``(N, K)`` float32.
    """
    xy = transform.points_to_original(keypoints[..., :2])
    confidence = keypoints[..., 2].to(torch.float32)
    valid = confidence >= confidence_threshold
    if keypoints_per_class is not None:
        if class_ids is None:
            raise InvalidParameterError("keypoints_per_class needs class_ids")
        counts = torch.as_tensor(keypoints_per_class, device=keypoints.device)[class_ids.to(torch.int64)]
        valid &= torch.arange(keypoints.shape[1], device=keypoints.device)[None, :] < counts[:, None]
    return xy * valid[..., None], confidence * valid
