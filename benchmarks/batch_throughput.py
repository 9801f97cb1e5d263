"""Batch throughput: a plain in-process loop vs Ray Data with 1 and 2 workers, on the same image files.

Run: ``python benchmarks/batch_throughput.py [--fixtures DIR] [--images 200] [--batch-size 8] [--repeats 3]
[--warmup 1] [--workers 1 2]`` (needs ``pip install 'inference-exp[ray]'``).

The job in every configuration: read N JPEG files (copies of the fixtures' ``bus.jpg`` and ``zidane.jpg``) from
disk, decode them, run the ``random-yolov8n`` ONNX export (640x640) in batches, and turn every image's detections
into a prediction row (:mod:`inference_exp.integrations.rows`).

* **in-process**: one Python loop over the files, the model loaded once beforehand (ONNX Runtime's default
  thread count: one intra-op thread per core).
* **ray, W workers**: ``predict_images(read_images_dataset(dir), ..., workers=W).materialize()`` on a local Ray
  instance started once. Each run is a whole Ray Data job: it starts its actor pool, every worker loads the
  model, the read tasks ship the file bytes through the object store and the rows come back the same way.
  Resources follow :func:`inference_exp.integrations.ray.plan_workers` (on 2 cores: 1 worker reserves 1 CPU and
  runs 2 threads; 2 workers reserve 0.5 CPU and run 1 thread each).

Every configuration runs ``--warmup`` untimed times; then each of the ``--repeats`` repetitions runs every
configuration once, in a rotating order, so that load drifts hit them alike. Reported: median and best images/s,
and the load average before and after (other processes on the machine make the numbers noisy). The
"in-process + 1 model load" line adds the one measured model load to each in-process run, for comparison with the
Ray jobs, which load the model in every run.

What to expect on a 2-core machine: **no speed-up from Ray.** ONNX Runtime already uses both cores in-process,
so two single-threaded workers can at best match it, and Ray adds fixed costs per job (actor start-up and one
model load per worker) and per image (file bytes and rows serialised through the object store, one read task
competing for the same cores). 2 workers beat 1 worker only to the extent that one worker leaves cores idle
while it decodes and post-processes (single-threaded work between two inference calls). Ray pays off when the
workers get more cores than one process can use well, other nodes, or GPUs, and for data sets that do not fit a
single machine's disk or a single process's lifetime (the rows are written as they are produced, failures are
rows, and the job can run on a cluster).

On a machine shared with other busy processes (load average above the core count) the comparison tilts the other
way: the scheduler shares the cores per runnable thread, and a Ray job (driver, read tasks, workers) has more of
them than the single in-process loop, so it wins a bigger share of the contended cores. Compare the
configurations at a low load average only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference_exp.auto_model import AutoModel
from inference_exp.entities.per_image import predictions_per_image
from inference_exp.inputs.decode import decode_bytes
from inference_exp.integrations.ray import plan_workers, predict_images, read_images_dataset
from inference_exp.integrations.rows import prediction_row

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
MODEL = "random-yolov8n"


def make_images(fixtures: Path, count: int, directory: Path) -> list[Path]:
    """``count`` JPEG files in ``directory``: bus.jpg and zidane.jpg, alternately."""
    sources = [fixtures / "images" / "bus.jpg", fixtures / "images" / "zidane.jpg"]
    paths = [directory / f"{index:04d}.jpg" for index in range(count)]
    for index, path in enumerate(paths):
        shutil.copy(sources[index % 2], path)
    return paths


def in_process_job(model, paths: list[Path], batch_size: int) -> int:
    """Read, decode, predict and build rows in one loop; returns the number of rows."""
    rows = 0
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        images = [decode_bytes(path.read_bytes(), item=None, source=str(path)) for path in chunk]
        groups = predictions_per_image(model(images), len(images))
        for path, image, group in zip(chunk, images, groups, strict=True):
            prediction_row(str(path), group, image_size=(image.shape[1], image.shape[0]))
            rows += 1
    return rows


def ray_job(weights: Path, directory: Path, workers: int, batch_size: int) -> int:
    """The same job as one Ray Data run; returns the number of rows."""
    dataset = predict_images(
        read_images_dataset(directory), weights, workers=workers, batch_size=batch_size, check_model=False
    )
    return dataset.materialize().count()


def measure(
    jobs: dict[str, Callable[[], int]], expected_rows: int, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Images/s of every timed run of each job. Every job runs ``warmup`` untimed times, then each repetition
    runs every job once, in an order that rotates, so that load drifts on the machine hit all jobs alike."""
    names = list(jobs)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for run in range(warmup + repeats):
        shift = run % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            rows = jobs[name]()
            elapsed = time.perf_counter() - started
            if rows != expected_rows:
                raise SystemExit(f"{name}: a run returned {rows} rows instead of {expected_rows}")
            if run >= warmup:
                rates[name].append(rows / elapsed)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    import ray

    weights = args.fixtures / MODEL / "weights.onnx"
    cpus = os.cpu_count() or 1
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        paths = make_images(args.fixtures, args.images, directory)
        started = time.perf_counter()
        model = AutoModel.from_pretrained(weights)
        load_seconds = time.perf_counter() - started
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level="WARNING")
        ray.data.DataContext.get_current().enable_progress_bars = False
        jobs: dict[str, Callable[[], int]] = {
            "in-process": lambda: in_process_job(model, paths, args.batch_size)
        }
        for workers in args.workers:
            jobs[f"ray, {workers} worker(s)"] = lambda workers=workers: ray_job(
                weights, directory, workers, args.batch_size
            )
        try:
            results = measure(jobs, len(paths), args.warmup, args.repeats)
        finally:
            ray.shutdown()
    load_after = os.getloadavg()

    print(
        f"\n{args.images} images (bus.jpg/zidane.jpg), {MODEL} ONNX, batch size {args.batch_size}, {cpus} CPU(s); "
        f"{args.warmup} warm-up + {args.repeats} timed run(s) per configuration"
    )
    print(
        f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}   "
        f"after: {' '.join(f'{v:.2f}' for v in load_after)}   (model load in-process: {load_seconds:.2f} s)"
    )
    baseline = statistics.median(results["in-process"])
    with_load = [1 / (1 / rate + load_seconds / len(paths)) for rate in results["in-process"]]
    results = {"in-process": results.pop("in-process"), "in-process + 1 model load": with_load, **results}
    print(f"{'configuration':<30} {'median img/s':>12} {'best img/s':>11} {'vs in-process':>14}")
    for name, rates in results.items():
        median = statistics.median(rates)
        print(f"{name:<30} {median:>12.1f} {max(rates):>11.1f} {median / baseline:>13.2f}x")
    for workers in args.workers:
        plan = plan_workers(workers, [cpus])
        print(
            f"plan, {workers} worker(s): {plan.cpus_per_worker} CPU reserved and {plan.threads} ONNX Runtime "
            f"thread(s) per worker"
        )
    print(
        "\nWhy: ONNX Runtime already spreads one model call over every core in-process, so on this machine Ray's\n"
        "workers share the same cores and cannot add compute; each Ray job also pays actor start-up and one model\n"
        "load per worker, and moves every file and row through the object store. Ray helps when its workers get\n"
        "cores, nodes or GPUs that a single process cannot use.\n"
        "Under a load average above the core count the Ray jobs, with more runnable processes, win a bigger\n"
        "share of the contended cores than the in-process loop: compare configurations at a low load only."
    )


if __name__ == "__main__":
    main()
