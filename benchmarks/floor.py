"""The floor: YOLOv8 detection and segmentation written directly against ONNX Runtime, numpy and OpenCV.

Only ``numpy``, ``cv2`` and ``onnxruntime`` are imported, so the same module runs in every benchmark interpreter.
It does the least work that produces what the libraries return, for the ``random-yolov8n`` / ``-seg`` layouts
(``fixtures/MANIFEST.md``):

* pre-processing: Ultralytics' square letterbox (``cv2.resize`` INTER_LINEAR + ``cv2.copyMakeBorder``, fill 114),
  then one numpy pass per image into a preallocated NCHW float32 batch (BGR → RGB, ``/ 255``);
* one ``session.run`` for the whole batch (all graph optimisations, the CPU provider, ``intra_op_num_threads``
  given by the caller);
* decoding: best class per anchor, score ``> 0.25``, ``cxcywh → xyxy``, greedy class-aware NMS (class offset
  7680, IoU ``> 0.45`` suppressed, at most 100), boxes mapped back to original pixels and clipped;
* masks (segmentation): ``coefficients @ prototypes`` only over the box, resampled straight to original pixels
  by one ``cv2.warpAffine`` per instance (bilinear, pixel centres aligned), ``> 0``; an instance whose mask is
  empty is dropped, as the libraries do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SIZE = 640
FILL = 114
CONFIDENCE, IOU, MAX_DETECTIONS = 0.25, 0.45, 100
CLASS_OFFSET = 7680.0
NUM_CLASSES = 80


@dataclass(frozen=True)
class Letterbox:
    """How one image was letterboxed: per-axis gains and the left / top padding."""

    gain_x: float
    gain_y: float
    left: int
    top: int


@dataclass
class Prediction:
    """One image's detections in original pixels (``masks``: ``(N, H, W)`` bool, segmentation only)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    masks: np.ndarray | None = None


def letterbox(image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
    """Ultralytics' square letterbox to ``SIZE`` (scaled size rounded, padding split with its ±0.1 rule)."""
    height, width = image.shape[:2]
    ratio = min(SIZE / height, SIZE / width)
    new_w, new_h = round(width * ratio), round(height * ratio)
    dw, dh = (SIZE - new_w) / 2, (SIZE - new_h) / 2
    left, right, top, bottom = round(dw - 0.1), round(dw + 0.1), round(dh - 0.1), round(dh + 0.1)
    if (new_w, new_h) != (width, height):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    boxed = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(FILL, FILL, FILL))
    return boxed, Letterbox(new_w / width, new_h / height, left, top)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Greedy class-aware NMS (boxes shifted per class), best first: indices of at most MAX_DETECTIONS kept."""
    order = np.argsort(-scores, kind="stable")
    shifted = boxes[order] + (classes[order] * CLASS_OFFSET)[:, None]
    areas = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
    alive = np.ones(len(order), dtype=bool)
    kept: list[int] = []
    for i in range(len(order)):
        if not alive[i]:
            continue
        kept.append(i)
        if len(kept) == MAX_DETECTIONS:
            break
        top_left = np.maximum(shifted[i, :2], shifted[i + 1 :, :2])
        bottom_right = np.minimum(shifted[i, 2:], shifted[i + 1 :, 2:])
        inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
        alive[i + 1 :] &= inter / (areas[i] + areas[i + 1 :] - inter) <= IOU
    return order[kept]


def instance_masks(
    prototypes: np.ndarray, coefficients: np.ndarray, boxes: np.ndarray, box: Letterbox, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, H, W)`` bool masks (per instance, the logits resampled to original pixels inside its box only) and
    which of them are not empty."""
    height, width = shape
    channels, proto_h, proto_w = prototypes.shape
    scale_x, scale_y = proto_w / SIZE, proto_h / SIZE
    masks = np.zeros((len(boxes), height, width), dtype=bool)
    nonempty = np.zeros(len(boxes), dtype=bool)
    for index, (x1, y1, x2, y2) in enumerate(boxes):
        xa, ya = min(max(int(np.ceil(x1)), 0), width), min(max(int(np.ceil(y1)), 0), height)
        xb, yb = min(max(int(np.ceil(x2)), 0), width), min(max(int(np.ceil(y2)), 0), height)
        if xa >= xb or ya >= yb:
            continue
        # original pixel centre (x + 0.5) -> network x' = (x + 0.5) * gain + left -> prototype u = x' * scale - 0.5
        u0 = ((xa + 0.5) * box.gain_x + box.left) * scale_x - 0.5
        v0 = ((ya + 0.5) * box.gain_y + box.top) * scale_y - 0.5
        du, dv = box.gain_x * scale_x, box.gain_y * scale_y
        c0, c1 = max(int(np.floor(u0)), 0), min(int(np.ceil(u0 + du * (xb - xa))) + 2, proto_w)
        r0, r1 = max(int(np.floor(v0)), 0), min(int(np.ceil(v0 + dv * (yb - ya))) + 2, proto_h)
        window = (coefficients[index] @ prototypes[:, r0:r1, c0:c1].reshape(channels, -1)).reshape(r1 - r0, c1 - c0)
        affine = np.array([[du, 0.0, u0 - c0], [0.0, dv, v0 - r0]])
        logits = cv2.warpAffine(
            window, affine, (xb - xa, yb - ya), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        region = logits > 0
        masks[index, ya:yb, xa:xb] = region
        nonempty[index] = region.any()
    return masks, nonempty


class FloorYolo:
    """The bare pipeline (see the module docstring) for a YOLOv8 detection or segmentation ONNX file."""

    def __init__(self, weights: str | Path, *, segmentation: bool, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(weights), sess_options=options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.segmentation = segmentation

    def pre_process(self, images: list[np.ndarray]) -> tuple[np.ndarray, list[Letterbox]]:
        batch = np.empty((len(images), 3, SIZE, SIZE), dtype=np.float32)
        boxes = []
        for index, image in enumerate(images):
            boxed, record = letterbox(image)
            np.multiply(boxed[:, :, ::-1].transpose(2, 0, 1), np.float32(1 / 255), out=batch[index], dtype=np.float32)
            boxes.append(record)
        return batch, boxes

    def forward(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: batch})

    def post_process(
        self, outputs: list[np.ndarray], letterboxes: list[Letterbox], images: list[np.ndarray]
    ) -> list[Prediction]:
        results = []
        for index, (box, image) in enumerate(zip(letterboxes, images, strict=True)):
            columns = outputs[0][index]  # (4 + C + extras, anchors)
            candidates = np.flatnonzero(columns[4 : 4 + NUM_CLASSES].max(axis=0) > CONFIDENCE)
            picked = columns[:, candidates]
            scores = picked[4 : 4 + NUM_CLASSES]
            classes = scores.argmax(axis=0)
            best = np.take_along_axis(scores, classes[None], axis=0)[0]
            cx, cy, w, h = picked[:4]
            network_boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
            kept = nms(network_boxes, best, classes)
            network_boxes = network_boxes[kept]
            boxes = (network_boxes - np.array([box.left, box.top] * 2, np.float32)) / np.array(
                [box.gain_x, box.gain_y] * 2, np.float32
            )
            height, width = image.shape[:2]
            np.clip(boxes, 0, np.array([width, height] * 2, np.float32), out=boxes)
            prediction = Prediction(boxes, best[kept], classes[kept])
            if self.segmentation:
                coefficients = picked[4 + NUM_CLASSES :, kept].T
                masks, nonempty = instance_masks(outputs[1][index], coefficients, boxes, box, (height, width))
                prediction = Prediction(prediction.boxes, prediction.scores, prediction.classes, masks)
                if not nonempty.all():
                    prediction = Prediction(boxes[nonempty], best[kept][nonempty], classes[kept][nonempty], masks[nonempty])
            results.append(prediction)
        return results

    def __call__(self, images: list[np.ndarray]) -> list[Prediction]:
        batch, letterboxes = self.pre_process(images)
        return self.post_process(self.forward(batch), letterboxes, images)
