"""Post-processing costs: NMS on many candidates and instance-mask decoding on a 1080p image.

Run: ``python benchmarks/postprocess.py [--repeats N]``

Absolute times of the shared post-processing layer (there is no bare equivalent to compare with in the same
run; these used to be timing assertions in the unit tests, which a busy machine could fail):

1. NMS of 5000 random candidates (80 classes, IoU 0.45, 300 kept), numpy and torch-CPU inputs, class-aware and
   class-agnostic; and of 1500 candidates with the defaults of the YOLO families (100 kept).
2. ``instance_masks`` of 60 instances from 32 x 160 x 160 prototypes onto a 1920 x 1080 image letterboxed to 640.

Reported: median and interquartile range over the repetitions, and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference_exp.processing import Size, instance_masks, nms, plan_transform


def measure(name: str, run: Callable[[], object], repeats: int) -> None:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    q1, median, q3 = statistics.quantiles(times, n=4)
    print(f"  {name:<48} median {median * 1e3:8.2f} ms   IQR {q1 * 1e3:8.2f} - {q3 * 1e3:8.2f} ms")


def candidates(count: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    corners = rng.random((count, 2)) * 600
    boxes = np.concatenate([corners, corners + rng.random((count, 2)) * 80 + 5], axis=1).astype(np.float32)
    return boxes, rng.random(count).astype(np.float32), rng.integers(0, 80, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    repeats = parser.parse_args().repeats
    print(f"torch {torch.__version__}, numpy {np.__version__}, load average {os.getloadavg()[0]:.2f}")

    print("1. NMS")
    for count, kept in ((5000, 300), (1500, 100)):
        boxes, scores, classes = candidates(count)
        tensors = tuple(map(torch.from_numpy, (boxes, scores, classes)))
        for agnostic in (False, True):
            mode = "agnostic" if agnostic else "class-aware"
            for library, args in (("numpy", (boxes, scores, classes)), ("torch", tensors)):
                measure(
                    f"{count} candidates, {mode}, {library}, max {kept}",
                    lambda args=args, agnostic=agnostic, kept=kept: nms(
                        *args, iou_threshold=0.45, max_detections=kept, class_agnostic=agnostic
                    ),
                    repeats,
                )

    print("2. instance masks, 60 instances, 1920x1080 image letterboxed to 640")
    transform = plan_transform(1080, 1920, Size(640, 640), "letterbox")
    generator = torch.Generator().manual_seed(1)
    prototypes = torch.randn((32, 160, 160), generator=generator)
    coefficients = torch.randn((60, 32), generator=generator)
    centers = torch.rand((60, 2), generator=generator) * 640
    sizes = torch.rand((60, 2), generator=generator) * 200 + 10
    boxes = torch.cat([centers - sizes / 2, centers + sizes / 2], dim=1)
    for method in ("native", "upsample"):
        measure(f"method={method}", lambda method=method: instance_masks(prototypes, coefficients, boxes, transform, method=method), repeats)


if __name__ == "__main__":
    main()
