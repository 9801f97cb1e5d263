"""YOLOv8 end to end and cold start: inference-exp against a bare ONNX Runtime floor, Ultralytics and inference-models.

Run: ``make bench`` (or ``python benchmarks/bench.py [--quick] [--tools ...] [--no-install]``). Prints tables and
writes them as JSON (default ``benchmarks/results/latest.json``).

Tools (each in its own interpreter, driven by ``benchmarks/worker.py``):

* ``floor``: ``benchmarks/floor.py``, the least work that gives the same predictions (project venv);
* ``inference-exp``: this library, ``AutoModel.from_pretrained(<Roboflow-layout package directory>)``;
* ``ultralytics``: ``YOLO("weights.onnx", task=...).predict(..., rect=False, retina_masks=True)``;
* ``inference-models``: Roboflow's library loading the same package directory;
* ``floor@inference-models``: the floor again, in inference-models' venv: its older ONNX Runtime (its ``onnx-cpu``
  extra caps it below 1.23) without its library code, which separates the runtime version from the library.

Peers live in their own venvs under ``benchmarks/.venvs/`` (``peers.py``), installed on first use (about 2.5 minutes
and 13 GB on the 2-core reference machine, wheels resolved from local disk); a peer that cannot be installed or fails
is reported with the reason. Every ONNX Runtime session gets the same ``intra_op_num_threads`` (``--threads``,
default: the number of cores); torch (used by inference-exp, Ultralytics and inference-models around the session)
keeps its default thread count. A run takes 5-8 minutes on a quiet 2-core machine.

**End to end** (``random-yolov8n`` and ``random-yolov8n-seg``, batch 1 and 8, decoded BGR frames of bus.jpg /
zidane.jpg in, predictions out): all workers are started and loaded, their predictions are checked against the
floor's, then each repetition calls every tool once, back to back, rotating which goes first, with a short pause
between calls (ONNX Runtime's spinning threads of one process must not steal the cores of the next). Reported:
median, IQR and min-max per tool, throughput, and ratios as the median of the per-repetition ratios (robust to
load drifts, since the two calls of a pair run back to back) with their IQR, plus the stage split (pre-process /
forward / post-process) where a tool exposes it.

**Cold start** (detection model): per round a fresh process per tool imports the tool (numpy and OpenCV are
imported first, to decode the frame), loads the model and predicts once; the first round only warms the caches.
Reported: import time, RSS after import, time to first prediction (import + load + first predict) and RSS after it.

Targets: E2E <= 1.05x the floor at batch 1; >= 1.5x faster than inference-models; >= 1.3x faster than Ultralytics.
A missed target is explained with the stage split and a cProfile of our pipeline.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from peers import PEERS, PeerEnvironment, ensure
from report import FLOOR, OURS, PEER_FLOOR, render, verdicts

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"
WORKER = BENCHMARKS / "worker.py"
IMAGES = ("bus.jpg", "zidane.jpg")
MODELS = {"random-yolov8n": "detect", "random-yolov8n-seg": "segment"}
TASK_TYPES = {"detect": "object-detection", "segment": "instance-segmentation"}
ORDER = (FLOOR, OURS, "ultralytics", "inference-models", PEER_FLOOR)
# agreement with the floor (fixtures/MANIFEST.md default tolerances)
BOX_TOLERANCE_PX, SCORE_TOLERANCE, MASK_IOU = 1.0, 1e-3, 0.95


# --- statistics ----------------------------------------------------------------------------------------------


def spread(samples: list[float]) -> dict[str, float]:
    """Median, quartiles, minimum and maximum."""
    q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else [samples[0]] * 3
    return {"median": median, "q1": q1, "q3": q3, "min": min(samples), "max": max(samples), "n": len(samples)}


def paired_ratio(tool: list[float], reference: list[float]) -> dict[str, float]:
    """Per-repetition ratios ``tool / reference``: their spread, and the ratio of the medians."""
    ratios = spread([a / b for a, b in zip(tool, reference, strict=True)])
    ratios["ratio_of_medians"] = statistics.median(tool) / statistics.median(reference)
    return ratios


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# --- package directories -------------------------------------------------------------------------------------


def build_package(fixture: Path, task: str, directory: Path) -> Path:
    """A Roboflow-layout package directory around a fixture's ONNX file (letterbox 640, fill 114, RGB, /255)."""
    directory.mkdir(parents=True)
    (directory / "weights.onnx").symlink_to(fixture / "weights.onnx")
    shutil.copy(fixture / "class_names.txt", directory / "class_names.txt")
    (directory / "inference_config.json").write_text(json.dumps({
        "network_input": {
            "training_input_size": {"height": 640, "width": 640},
            "dynamic_spatial_size_supported": False,
            "color_mode": "rgb",
            "resize_mode": "letterbox",
            "padding_value": 114,
            "input_channels": 3,
            "scaling_factor": 255,
        },
        "post_processing": {"type": "nms", "fused": False},
    }))
    (directory / "model_config.json").write_text(json.dumps(
        {"model_architecture": "yolov8", "task_type": TASK_TYPES[task], "backend_type": "onnx"}
    ))
    return directory


# --- workers -------------------------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A worker failed: crashed, timed out or answered with an error."""


@dataclass
class Runtime:
    """How to start a tool's worker: interpreter and extra environment, or why it cannot run.

    Attributes:
        tool: the name in the tables.
        worker_tool: the ``worker.py --tool`` it runs (default: ``tool``).
    """

    tool: str
    python: str | None
    env: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    install_s: float | None = None
    worker_tool: str | None = None

    @property
    def runs(self) -> str:
        return self.worker_tool or self.tool


class Worker:
    """A ``worker.py --serve`` process; requests and answers are JSON lines."""

    def __init__(self, runtime: Runtime, spec: dict[str, Any], threads: int, log_path: Path) -> None:
        self.tool = runtime.tool
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [runtime.python, str(WORKER), "--tool", runtime.runs, "--threads", str(threads),
             "--spec", json.dumps(spec), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=ROOT,
            env={**os.environ, **runtime.env},
        )

    def request(self, message: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError as error:
            raise WorkerError(f"{self.tool} worker exited: {self.stderr_tail()}") from error
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.close()
            raise WorkerError(f"{self.tool} worker gave no answer to {message['op']!r} within {timeout:.0f} s")
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise WorkerError(f"{self.tool} worker exited ({self.process.returncode}): {self.stderr_tail()}")
        answer = json.loads(line)
        if "error" in answer:
            raise WorkerError(f"{self.tool}: {answer['error']}")
        return answer

    def stderr_tail(self, lines: int = 8) -> str:
        self.log.flush()
        return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"op": "exit"}) + "\n")  # type: ignore[union-attr]
                self.process.stdin.flush()  # type: ignore[union-attr]
                self.process.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.log.close()


def cold_start_once(runtime: Runtime, spec: dict[str, Any], threads: int, log_path: Path) -> dict[str, Any]:
    """One fresh process: import, load, first prediction."""
    with log_path.open("a") as log:
        result = subprocess.run(
            [runtime.python, str(WORKER), "--tool", runtime.runs, "--threads", str(threads),
             "--spec", json.dumps(spec), "--cold-start"],
            stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT, env={**os.environ, **runtime.env}, timeout=600,
        )
    if result.returncode != 0 or not result.stdout.strip():
        tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-8:])
        raise WorkerError(f"{runtime.tool} cold start exited {result.returncode}: {tail}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- agreement -----------------------------------------------------------------------------------------------


def compare_predictions(tool_file: Path, floor_file: Path) -> dict[str, Any]:
    """How one tool's predictions of an image differ from the floor's."""
    ours, floor = np.load(tool_file), np.load(floor_file)
    count, reference = len(ours.get("0_boxes", [])), len(floor["0_boxes"])
    result: dict[str, Any] = {"detections": count, "floor_detections": reference}
    if count != reference:
        return {**result, "agrees": False, "why": f"{count} detections vs the floor's {reference}"}
    same_classes = ours["0_classes"].astype(np.int64).tolist() == floor["0_classes"].astype(np.int64).tolist()
    box = float(np.abs(ours["0_boxes"] - floor["0_boxes"]).max(initial=0))
    score = float(np.abs(ours["0_scores"] - floor["0_scores"]).max(initial=0))
    result.update({"same_classes_in_order": same_classes, "max_box_diff_px": box, "max_score_diff": score})
    if "0_masks" in floor:
        a, b = ours["0_masks"].reshape(count, -1), floor["0_masks"].reshape(count, -1)
        union = (a | b).sum(axis=1)
        iou = np.where(union > 0, (a & b).sum(axis=1) / np.maximum(union, 1), 1.0)
        result["min_mask_iou"] = float(iou.min(initial=1.0))
    agrees = same_classes and box <= BOX_TOLERANCE_PX and score <= SCORE_TOLERANCE
    agrees = agrees and result.get("min_mask_iou", 1.0) >= MASK_IOU
    return {**result, "agrees": agrees}


# --- the benchmark -------------------------------------------------------------------------------------------


def runtimes(tools: list[str], install: bool, log) -> dict[str, Runtime]:
    """Interpreter per tool (installing peers on first use)."""
    found = {}
    for tool in tools:
        if tool in (FLOOR, OURS):
            found[tool] = Runtime(tool, sys.executable)
            continue
        peer = "inference-models" if tool == PEER_FLOOR else tool
        environment: PeerEnvironment = ensure(PEERS[peer], install=install, log=log)
        found[tool] = Runtime(
            tool, str(environment.python) if environment.python else None, environment.env, environment.reason,
            environment.install_s, worker_tool=FLOOR if tool == PEER_FLOOR else None,
        )
    return found


def end_to_end(
    model: str, runtimes_: dict[str, Runtime], args: argparse.Namespace, scratch: Path, report: dict[str, Any], log
) -> None:
    """Load every tool's worker for ``model``, check agreement, then time the batches interleaved."""
    task = MODELS[model]
    fixture = args.fixtures / model
    spec = {
        "weights": str(fixture / "weights.onnx"),
        "package_dir": str(build_package(fixture, task, scratch / model)),
        "task": task,
        "images": [str(args.fixtures / "images" / name) for name in IMAGES],
    }
    status = report["tools"]
    workers: dict[str, Worker] = {}
    logs = args.output.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for tool, runtime in runtimes_.items():
        if runtime.python is None:
            continue
        worker = Worker(runtime, spec, args.threads, logs / f"{tool}-{model}.log")
        try:
            loaded = worker.request({"op": "load"}, timeout=600)
        except WorkerError as error:
            status[tool].setdefault("failures", {})[model] = str(error)
            worker.close()
            continue
        status[tool].setdefault("load_s", {})[model] = loaded["load_s"]
        workers[tool] = worker
    try:
        if FLOOR not in workers:
            raise WorkerError("the floor did not load; nothing to compare against")
        report["agreement"][model] = agreement(workers, scratch / f"{model}-dumps", status)
        for tool, worker in workers.items():
            info = worker.request({"op": "info"})
            status[tool].update({"versions": info["versions"], "onnxruntime_sessions": info["sessions"]})
        for batch in args.batches:
            images = [[(r + k) % len(IMAGES) for k in range(batch)] for r in range(len(IMAGES))]
            repeats = args.repeats_batch1 if batch == 1 else args.repeats_batch8
            log(f"  {model} batch {batch}: {args.warmup} warm-up + {repeats} timed calls per tool ...")
            samples = interleaved(workers, images, args.warmup, repeats, args.pause, status)
            report["e2e"].extend(summarise(model, batch, samples))
            stage_repeats = args.stage_repeats if batch == 1 else max(args.stage_repeats // 2, 2)
            report["stages"].setdefault(model, {})[str(batch)] = stage_split(workers, images[0], stage_repeats, args.pause)
        if OURS in workers:
            report["profiles"][model] = workers[OURS].request(
                {"op": "profile", "images": [0], "repeats": args.stage_repeats, "top": 25}
            )["profile"]
    finally:
        for worker in workers.values():
            worker.close()


def agreement(workers: dict[str, Worker], directory: Path, status: dict[str, Any]) -> dict[str, Any]:
    """Each tool's predictions of every image, compared with the floor's; a tool that cannot predict is dropped."""
    directory.mkdir(parents=True)
    found: dict[str, Any] = {}
    for index, name in enumerate(IMAGES):
        files = {}
        for tool, worker in list(workers.items()):
            try:
                files[tool] = Path(worker.request({"op": "dump", "images": [index], "path": str(directory / f"{tool}-{index}.npz")})["path"])
            except WorkerError as error:
                status[tool].setdefault("failures", {})[name] = str(error)
                workers.pop(tool).close()
        for tool, path in files.items():
            if tool != FLOOR:
                found.setdefault(tool, {})[name] = compare_predictions(path, files[FLOOR])
    return found


def interleaved(
    workers: dict[str, Worker], images: list[list[int]], warmup: int, repeats: int, pause: float,
    status: dict[str, Any],
) -> dict[str, list[float]]:
    """Per tool, ``repeats`` timings; every repetition runs all tools back to back, rotating the order."""
    tools = list(workers)
    for tool in tools:
        for call in range(warmup):
            workers[tool].request({"op": "time", "images": images[call % len(images)]})
    samples: dict[str, list[float]] = {tool: [] for tool in tools}
    for repetition in range(repeats):
        shift = repetition % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            if tool not in workers:
                continue
            time.sleep(pause)
            try:
                answer = workers[tool].request({"op": "time", "images": images[repetition % len(images)]})
            except WorkerError as error:
                status[tool].setdefault("failures", {})["timing"] = str(error)
                workers.pop(tool).close()
                samples.pop(tool)
                continue
            samples[tool].append(answer["seconds"])
    return samples


def stage_split(workers: dict[str, Worker], images: list[int], repeats: int, pause: float) -> dict[str, dict[str, float]]:
    """Median seconds per stage for the tools that expose their stages (interleaved like the timings)."""
    calls: dict[str, list[dict[str, float]]] = {tool: [] for tool in workers}
    for repetition in range(repeats):
        tools = list(calls)
        shift = repetition % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            time.sleep(pause)
            try:
                stages = workers[tool].request({"op": "stages", "images": images})["stages"]
            except WorkerError:
                stages = None
            if stages is None:
                calls.pop(tool)
            else:
                calls[tool].append(stages)
    return {tool: {stage: statistics.median(c[stage] for c in found) for stage in found[0]} for tool, found in calls.items()}


def summarise(model: str, batch: int, samples: dict[str, list[float]]) -> list[dict[str, Any]]:
    rows = []
    for tool in [t for t in ORDER if t in samples]:
        times = samples[tool]
        stats = spread(times)
        row = {
            "model": model, "batch": batch, "tool": tool,
            "ms": {key: value * 1e3 if key != "n" else value for key, value in stats.items()},
            "images_per_s": batch / stats["median"],
        }
        if FLOOR in samples and tool != FLOOR:
            row["vs_floor"] = paired_ratio(times, samples[FLOOR])
        if OURS in samples and tool not in (OURS, FLOOR, PEER_FLOOR):
            row["vs_inference_exp"] = paired_ratio(times, samples[OURS])
        rows.append(row)
    return rows


def cold_starts(runtimes_: dict[str, Runtime], args: argparse.Namespace, scratch: Path, report: dict[str, Any]) -> None:
    """Rounds of fresh processes (one per tool, rotating order); the first round only warms caches."""
    model = "random-yolov8n"
    spec = {
        "weights": str(args.fixtures / model / "weights.onnx"),
        "package_dir": str(scratch / model),
        "task": MODELS[model],
        "images": [str(args.fixtures / "images" / IMAGES[0])],
    }
    tools = [t for t, r in runtimes_.items() if r.python is not None and t != PEER_FLOOR]
    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
    logs = args.output.parent / "logs"
    for round_ in range(args.cold_runs + 1):
        shift = round_ % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            if tool not in runs:
                continue
            try:
                result = cold_start_once(runtimes_[tool], spec, args.threads, logs / f"{tool}-cold.log")
            except (WorkerError, subprocess.TimeoutExpired) as error:
                report["tools"][tool].setdefault("failures", {})["cold_start"] = str(error)
                runs.pop(tool)
                continue
            if round_ > 0:
                runs[tool].append(result)
    for tool, results in runs.items():
        entry = {key: spread([r[key] for r in results]) for key in results[0] if key != "sessions"}
        report["cold_start"][tool] = entry
    for tool, results in runs.items():
        for reference, key in ((FLOOR, "total_vs_floor"), (OURS, "total_vs_inference_exp")):
            if reference in runs and tool not in (reference, FLOOR):
                report["cold_start"][tool][key] = paired_ratio(
                    [r["total_s"] for r in results], [r["total_s"] for r in runs[reference]]
                )


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1), "python": platform.python_version(),
            "platform": platform.platform(),
            "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}}


def wait_for_quiet(max_load: float, wait: float, log) -> str | None:
    """Wait up to ``wait`` seconds for the 1-minute load average to drop to ``max_load``; a warning if it does not."""
    deadline = time.monotonic() + wait
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        log(f"1-minute load average {os.getloadavg()[0]:.2f} > {max_load}; waiting ...")
        time.sleep(min(15.0, max(deadline - time.monotonic(), 0.1)))
    load = os.getloadavg()[0]
    return None if load <= max_load else f"1-minute load average {load:.2f} > {max_load} at start: numbers are noisy"


def git_commit() -> str | None:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--tools", nargs="+", choices=ORDER, default=list(ORDER))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="ONNX Runtime intra-op threads")
    parser.add_argument("--repeats-batch1", type=int, default=80)
    parser.add_argument("--repeats-batch8", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--stage-repeats", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=5, help="timed cold-start rounds (after one warming round)")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between two timed calls")
    parser.add_argument("--max-load", type=float, default=0.5)
    parser.add_argument("--wait-for-load", type=float, default=120.0, help="seconds to wait for --max-load")
    parser.add_argument("--no-install", action="store_true", help="do not create missing peer venvs")
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run, not for reporting)")
    parser.add_argument("--output", type=Path, default=BENCHMARKS / "results" / "latest.json")
    args = parser.parse_args()
    if args.quick:
        args.repeats_batch1, args.repeats_batch8, args.warmup, args.stage_repeats, args.cold_runs = 6, 3, 1, 2, 1
    args.output.parent.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.monotonic()
    tools = [t for t in ORDER if t in args.tools]
    if FLOOR not in tools or OURS not in tools:
        parser.error("--tools must include floor and inference-exp (every ratio is taken against them)")
    found = runtimes(tools, not args.no_install, log)
    report: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "tools": {t: {"python": r.python, "reason": r.reason, "install_s": r.install_s} for t, r in found.items()},
        "load_average": {}, "e2e": [], "stages": {}, "agreement": {}, "cold_start": {}, "profiles": {},
    }
    report["load_warning"] = wait_for_quiet(args.max_load, args.wait_for_load, log)
    report["load_average"]["start"] = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for model in args.models:
            log(f"end to end: {model}")
            try:
                end_to_end(model, found, args, Path(scratch), report, log)
            except WorkerError as error:
                report.setdefault("errors", []).append(f"{model}: {error}")
            report["load_average"][f"after {model}"] = load_average()
        if "random-yolov8n" not in args.models:
            build_package(args.fixtures / "random-yolov8n", "detect", Path(scratch) / "random-yolov8n")
        log("cold start ...")
        cold_starts(found, args, Path(scratch), report)
    report["load_average"]["end"] = load_average()
    report["targets"] = verdicts(report)
    report["duration_s"] = round(time.monotonic() - started, 1)
    args.output.write_text(json.dumps(report, indent=2))
    print(render(report))
    print(f"\n(written to {args.output}; {report['duration_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
