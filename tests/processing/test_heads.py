"""Classification heads and keypoints."""

from __future__ import annotations

import pytest
import torch

from inference_exp.errors import InvalidParameterError
from inference_exp.packages.inference_config import (
    NmsPostProcessing,
    SigmoidPostProcessing,
    SoftmaxPostProcessing,
)
from inference_exp.processing import Size, class_probabilities, keypoints_to_original, plan_transform

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]])


@pytest.mark.parametrize(
    ("post_processing", "multi_label", "expected"),
    [
        (SoftmaxPostProcessing(type="softmax", fused=False), False, torch.softmax(LOGITS, dim=1)),
        (SoftmaxPostProcessing(type="softmax", fused=True), False, LOGITS),
        (SigmoidPostProcessing(type="sigmoid", fused=False), False, torch.sigmoid(LOGITS)),
        (SigmoidPostProcessing(type="sigmoid", fused=True), True, LOGITS),
        (None, False, torch.softmax(LOGITS, dim=1)),
        (None, True, torch.sigmoid(LOGITS)),
        (NmsPostProcessing(type="nms", fused=False), False, torch.softmax(LOGITS, dim=1)),
    ],
)
def test_class_probabilities_respect_fused(post_processing, multi_label, expected):
    probabilities = class_probabilities(LOGITS.half(), post_processing, multi_label=multi_label)
    assert probabilities.dtype == torch.float32
    assert torch.allclose(probabilities, expected, atol=2e-3)


def test_keypoints_are_mapped_back_clipped_and_thresholded():
    transform = plan_transform(100, 200, Size(64, 64), "letterbox")  # scale 0.32, 16 rows of padding on top
    keypoints = torch.tensor([[[32.0, 32.0, 0.9], [0.0, 0.0, 0.2], [64.0, 64.0, 0.5]],
                              [[16.0, 24.0, 0.8], [32.0, 40.0, 0.95], [1.0, 20.0, 0.7]]])
    xy, confidence = keypoints_to_original(keypoints, transform, confidence_threshold=0.3)
    assert xy.shape == (2, 3, 2) and confidence.shape == (2, 3)
    assert torch.allclose(xy[0, 0], torch.tensor([100.0, 50.0]))
    assert xy[0, 1].tolist() == [0.0, 0.0] and confidence[0, 1] == 0.0  # below the threshold
    assert xy[0, 2].tolist() == [200.0, 100.0]  # clipped to the image
    assert torch.allclose(confidence[0], torch.tensor([0.9, 0.0, 0.5]))
    # per-class slot counts: class 1 has two keypoints, so its third slot is zeroed
    xy, confidence = keypoints_to_original(keypoints, transform, class_ids=torch.tensor([0, 1]),
                                           keypoints_per_class=[3, 2])
    assert confidence[1].tolist() == pytest.approx([0.8, 0.95, 0.0])
    assert xy[1, 2].tolist() == [0.0, 0.0] and xy[0, 2].tolist() == [200.0, 100.0]
    with pytest.raises(InvalidParameterError):
        keypoints_to_original(keypoints, transform, keypoints_per_class=[3, 2])
