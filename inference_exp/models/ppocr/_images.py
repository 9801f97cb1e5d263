"""Image plumbing shared by the OCR families and pipeline: crops are cut on numpy."""

from __future__ import annotations

import numpy as np

from inference_exp.inputs import NormalizedImage


def hwc_uint8(image: NormalizedImage) -> np.ndarray:
    """The pixels of ``image`` as an HWC uint8 numpy array (its own channel order), for OpenCV."""
    if not image.is_tensor:
        return image.data
    import torch

    data = image.data
    if data.is_floating_point():
        data = (data * 255.0).round().clamp(0, 255).to(torch.uint8)
    return np.ascontiguousarray(data.permute(1, 2, 0).cpu().numpy())
