"""Pre-processing overhead vs the bare OpenCV / numpy calls it wraps.

Run: ``python benchmarks/preprocess.py [--repeats N]``

1. Letterbox of a 1080p BGR uint8 image to 640x640 (fill 114): ``resize_image`` vs ``cv2.resize`` +
   ``cv2.copyMakeBorder`` with the same, precomputed, arguments. Target: ratio <= 1.1.
2. Full pre-process to the NCHW float32 tensor (letterbox, BGR->RGB, /255): ``Preprocessor.__call__`` on the raw
   numpy image vs the same OpenCV calls plus one numpy pass (transpose + channel flip + scale into a
   preallocated float32 array) and ``torch.from_numpy``.

The two sides of each comparison run back to back in every repetition (alternating which goes first), so that
drifts in machine load hit both; reported: median and interquartile range of each side, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference_exp.packages.inference_config import parse_inference_config
from inference_exp.processing import Size, build_preprocessor, resize_image

TARGET = 640
FILL = 114


def synthetic_frame(height: int = 1080, width: int = 1920) -> np.ndarray:
    """A deterministic 1080p BGR frame with gradients and noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frame = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], axis=-1)
    return np.clip(frame + rng.normal(0, 8, frame.shape), 0, 255).astype(np.uint8)


def compare(name: str, ours: Callable[[], object], bare: Callable[[], object], repeats: int) -> float:
    for _ in range(20):  # warm-up: allocator, OpenCV thread pool
        ours(), bare()
    times: dict[Callable[[], object], list[float]] = {ours: [], bare: []}
    for repetition in range(repeats):
        for side in (ours, bare) if repetition % 2 else (bare, ours):  # alternate which side runs first
            start = time.perf_counter()
            side()
            times[side].append(time.perf_counter() - start)
    ours_times, bare_times = times[ours], times[bare]
    ratio = statistics.median(ours_times) / statistics.median(bare_times)
    print(f"{name}")
    for label, times in (("inference-exp", ours_times), ("bare cv2/numpy", bare_times)):
        q1, median, q3 = statistics.quantiles(times, n=4)
        print(f"  {label:<15} median {median * 1e3:7.3f} ms   IQR {q1 * 1e3:7.3f} - {q3 * 1e3:7.3f} ms")
    print(f"  ratio (median / median): {ratio:.3f}x over {repeats} repetitions")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=500, help="timed repetitions per comparison")
    args = parser.parse_args()
    frame = synthetic_frame()
    height, width = frame.shape[:2]
    print(f"frame {width}x{height} BGR uint8 -> {TARGET}x{TARGET}; torch {torch.__version__}, "
          f"OpenCV {cv2.__version__}, numpy {np.__version__}, {torch.get_num_threads()} torch threads\n")

    # the bare recipe, arguments precomputed outside the timed region
    ratio = min(TARGET / height, TARGET / width)
    new_w, new_h = round(width * ratio), round(height * ratio)
    dw, dh = (TARGET - new_w) / 2, (TARGET - new_h) / 2
    top, bottom, left, right = round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1)

    def bare_letterbox() -> np.ndarray:
        resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        return cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(FILL, FILL, FILL))

    assert np.array_equal(resize_image(frame, Size(TARGET, TARGET), "letterbox", fill=FILL)[0], bare_letterbox())
    letterbox_ratio = compare(
        "1. letterbox (uint8 image out)",
        lambda: resize_image(frame, Size(TARGET, TARGET), "letterbox", fill=FILL),
        bare_letterbox,
        args.repeats,
    )

    config = parse_inference_config({"network_input": {
        "training_input_size": {"height": TARGET, "width": TARGET}, "dynamic_spatial_size_supported": False,
        "color_mode": "rgb", "resize_mode": "letterbox", "padding_value": FILL, "input_channels": 3,
        "scaling_factor": 255,
    }})
    preprocessor = build_preprocessor(config)
    scale = np.float32(1 / 255)

    def bare_tensor() -> torch.Tensor:
        out = np.empty((1, 3, TARGET, TARGET), dtype=np.float32)
        np.multiply(bare_letterbox().transpose(2, 0, 1)[::-1], scale, out=out[0], dtype=np.float32)
        return torch.from_numpy(out)

    difference = (preprocessor(frame)[0] - bare_tensor()).abs().max().item()
    assert difference < 1e-6, difference
    print()
    tensor_ratio = compare(
        "2. full pre-process to the NCHW float32 tensor",
        lambda: preprocessor(frame),
        bare_tensor,
        args.repeats,
    )
    print(f"\nletterbox ratio {letterbox_ratio:.3f}x (target <= 1.1x: {'met' if letterbox_ratio <= 1.1 else 'NOT met'}); "
          f"full pre-process ratio {tensor_ratio:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
