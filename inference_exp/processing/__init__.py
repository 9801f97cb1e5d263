"""Pre- and post-processing shared by every model family.

A family uses it like this::

    from inference_exp.packages.inference_config import load_inference_config
    from inference_exp.processing import build_preprocessor, instance_masks, run_in_chunks, select_detections

    config = load_inference_config(package_dir)               # CorruptedModelPackageError if malformed
    pre = build_preprocessor(config)                          # once, at load time

    batch, transforms = pre(images, device=device, image_size=None)   # NCHW float32 + one record per image
    raw = run_in_chunks(backend, batch, max_batch_size=config.forward_pass.max_dynamic_batch_size)
    for i, transform in enumerate(transforms):
        boxes, scores, coefficients = decode_my_layout(raw, i)        # the family's only job: its layout
        kept = select_detections(
            boxes, scores, extras=coefficients,                       # (A, 4) xyxy network px, (A, C), (A, E)
            confidence_threshold=0.25, iou_threshold=0.45, max_detections=100,
        )
        xyxy = transform.boxes_to_original(kept.boxes)                # clipped to the original image
        masks = instance_masks(prototypes[i], kept.extras, kept.boxes, transform)   # (N, H, W) bool

Modules: :mod:`.transforms` (the per-image record and coordinate mapping), :mod:`.preprocess`,
:mod:`.image_ops` / :mod:`.tensor_ops` (the steps on numpy / torch images), :mod:`.batching`, :mod:`.nms`,
:mod:`.selection`, :mod:`.masks`, :mod:`.heads` (classification probabilities, keypoints).
"""

from inference_exp.processing.batching import Chunk, plan_chunks, run_in_chunks
from inference_exp.processing.heads import class_probabilities, keypoints_to_original
from inference_exp.processing.masks import (
    dense_maps_to_original,
    instance_masks,
    instance_masks_with_presence,
)
from inference_exp.processing.nms import nms
from inference_exp.processing.preprocess import Preprocessor, build_preprocessor, resize_image
from inference_exp.processing.selection import Selection, select_detections, xywh_to_xyxy
from inference_exp.processing.transforms import ImageTransform, Size, plan_transform

__all__ = [
    "Chunk",
    "ImageTransform",
    "Preprocessor",
    "Selection",
    "Size",
    "build_preprocessor",
    "class_probabilities",
    "dense_maps_to_original",
    "instance_masks",
    "instance_masks_with_presence",
    "keypoints_to_original",
    "nms",
    "plan_chunks",
    "plan_transform",
    "resize_image",
    "run_in_chunks",
    "select_detections",
    "xywh_to_xyxy",
]
