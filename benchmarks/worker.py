"""Benchmark worker: runs ONE tool in its own interpreter and reports timings as JSON.

Started by ``benchmarks/bench.py`` with the tool's interpreter (this project's venv for ``inference-exp`` and
``floor``, a private venv under ``benchmarks/.venvs/`` for each peer). Only the standard library is imported
before the tool itself, so the tool's import is measured from a clean start (numpy and OpenCV excepted: they
decode the input frames first, as in a user's program that already holds decoded BGR images).

Two modes:

* ``--cold-start SPEC``: import the tool, load the model, predict once on the first image, print one JSON
  object (seconds and resident memory after each step) and exit.
* ``--serve``: read one JSON request per line on stdin, answer one JSON line each (see :func:`serve`). The
  orchestrator drives all tools' workers in turn, so that every repetition times each tool back to back.

Every ONNX Runtime session a tool opens gets the same ``intra_op_num_threads`` (the ``--threads`` argument): an
import hook wraps ``onnxruntime.InferenceSession.__init__`` and records what the tool itself asked for.
Protocol lines go to the original stdout; anything the tools print goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

CONFIDENCE, IOU, MAX_DETECTIONS = 0.25, 0.45, 100
BENCHMARKS = Path(__file__).resolve().parent


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux ``/proc``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- ONNX Runtime thread pinning -----------------------------------------------------------------------------


class OnnxRuntimeThreads:
    """Pins ``intra_op_num_threads`` of every ``InferenceSession`` (once onnxruntime is imported, by anyone) and
    records, per session, what the caller asked for."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.sessions: list[dict[str, Any]] = []

    def install(self) -> None:
        if "onnxruntime" in sys.modules:
            self.patch(sys.modules["onnxruntime"])
        else:
            sys.meta_path.insert(0, _AfterImport("onnxruntime", self.patch))

    def patch(self, ort: Any) -> None:
        original = ort.InferenceSession.__init__
        pin = self

        def __init__(session, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
            options = sess_options if sess_options is not None else ort.SessionOptions()
            pin.sessions.append({
                "own_session_options": sess_options is not None,
                "requested_intra_op_num_threads": options.intra_op_num_threads,  # 0: ONNX Runtime's default
                "graph_optimization_level": str(options.graph_optimization_level).rsplit(".", 1)[-1],
                "providers": [p if isinstance(p, str) else p[0] for p in providers or []],
                "pinned_intra_op_num_threads": pin.threads,
            })
            options.intra_op_num_threads = pin.threads
            original(session, path_or_bytes, options, providers, provider_options, **kwargs)

        ort.InferenceSession.__init__ = __init__


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback(module)`` right after the top-level module ``name`` has been executed (a mere
    ``importlib.util.find_spec(name)`` probe, as runtime detection does, leaves the hook in place)."""

    def __init__(self, name: str, callback: Any) -> None:
        self.name, self.callback = name, callback

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        position = sys.meta_path.index(self)
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(position, self)
        if spec is None or spec.loader is None:
            return spec
        execute, hook = spec.loader.exec_module, self

        def exec_module(module: Any) -> None:
            execute(module)
            if hook in sys.meta_path:
                sys.meta_path.remove(hook)
            hook.callback(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


# --- the tools -----------------------------------------------------------------------------------------------


class Tool:
    """One way of predicting: ``import_tool`` (timed as the import), ``load``, ``predict`` on BGR frames."""

    name = ""

    def __init__(self, spec: dict[str, Any], threads: int) -> None:
        self.spec, self.threads = spec, threads
        self.segmentation = spec["task"] == "segment"
        self.model: Any = None

    def import_tool(self) -> None:
        raise NotImplementedError

    def load(self) -> None:
        raise NotImplementedError

    def predict(self, images: list[Any]) -> Any:
        raise NotImplementedError

    def arrays(self, result: Any) -> list[dict[str, Any]]:
        """Per image: ``boxes`` (N, 4), ``scores``, ``classes`` and ``masks`` (N, H, W bool, or None) as numpy."""
        raise NotImplementedError

    def stages(self, images: list[Any]) -> dict[str, float] | None:
        """Seconds spent in pre-processing, forward pass and post-processing for one call, when separable."""
        return None

    def versions(self) -> dict[str, str]:
        import cv2
        import numpy

        found = {"numpy": numpy.__version__, "opencv": cv2.__version__}
        for module in ("onnxruntime", "torch", "torchvision"):
            if module in sys.modules:
                found[module] = sys.modules[module].__version__
        return found


def _split(pre: Any, forward: Any, post: Any) -> dict[str, float]:
    start = time.perf_counter()
    batch = pre()
    after_pre = time.perf_counter()
    raw = forward(batch)
    after_forward = time.perf_counter()
    post(batch, raw)
    end = time.perf_counter()
    return {"pre-process": after_pre - start, "forward": after_forward - after_pre, "post-process": end - after_forward}


def _numpy(value: Any) -> Any:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value


class Floor(Tool):
    """The bare ONNX Runtime pipeline of ``floor.py``."""

    name = "floor"

    def import_tool(self) -> None:
        import onnxruntime  # noqa: F401

        sys.path.insert(0, str(BENCHMARKS))
        import floor  # noqa: F401

    def load(self) -> None:
        from floor import FloorYolo

        self.model = FloorYolo(self.spec["weights"], segmentation=self.segmentation, threads=self.threads)

    def predict(self, images: list[Any]) -> Any:
        return self.model(images)

    def arrays(self, result: Any) -> list[dict[str, Any]]:
        return [{"boxes": p.boxes, "scores": p.scores, "classes": p.classes, "masks": p.masks} for p in result]

    def stages(self, images: list[Any]) -> dict[str, float]:
        return _split(
            lambda: self.model.pre_process(images),
            lambda batch: self.model.forward(batch[0]),
            lambda batch, raw: self.model.post_process(raw, batch[1], images),
        )

    def versions(self) -> dict[str, str]:
        return {"tool": "benchmarks/floor.py", **super().versions()}


class AutoModelTool(Tool):
    """A library with a Roboflow-style ``AutoModel.from_pretrained(<package directory>)`` and models that split into
    ``pre_process`` / ``forward`` / ``post_process`` (this library and inference-models)."""

    module = ""
    distribution = ""

    def import_tool(self) -> None:
        importlib.import_module(self.module).AutoModel  # noqa: B018  (the attribute access is the import)

    def load(self) -> None:
        self.model = importlib.import_module(self.module).AutoModel.from_pretrained(self.spec["package_dir"], device="cpu")

    def predict(self, images: list[Any]) -> Any:
        return self.model(images, confidence=CONFIDENCE, iou_threshold=IOU, max_detections=MAX_DETECTIONS)

    def arrays(self, result: Any) -> list[dict[str, Any]]:
        return [
            {
                "boxes": _numpy(d.xyxy), "scores": _numpy(d.confidence), "classes": _numpy(d.class_id),
                "masks": _numpy(d.mask) if self.segmentation else None,
            }
            for d in result
        ]

    def stages(self, images: list[Any]) -> dict[str, float]:
        model = self.model
        return _split(
            lambda: model.pre_process(images),
            lambda batch: model.forward(batch[0]),
            lambda batch, raw: model.post_process(
                raw, batch[1], confidence=CONFIDENCE, iou_threshold=IOU, max_detections=MAX_DETECTIONS
            ),
        )

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"tool": f"{self.distribution} {version(self.distribution)}", **super().versions()}


class InferenceExp(AutoModelTool):
    """This library."""

    name, module, distribution = "inference-exp", "inference_exp", "inference-exp"


class Ultralytics(Tool):
    """``YOLO("weights.onnx", task=...)``, ``predict(images, rect=False, retina_masks=True)`` (masks at the
    original size, as the libraries return them; ``rect=False`` as the fixture MANIFEST explains)."""

    name = "ultralytics"

    def import_tool(self) -> None:
        from ultralytics import YOLO  # noqa: F401

    def load(self) -> None:
        from ultralytics import YOLO

        self.model = YOLO(self.spec["weights"], task=self.spec["task"])

    def predict(self, images: list[Any]) -> Any:
        return self.model.predict(
            images, rect=False, imgsz=640, conf=CONFIDENCE, iou=IOU, max_det=MAX_DETECTIONS, retina_masks=True,
            device="cpu", verbose=False,
        )

    def arrays(self, result: Any) -> list[dict[str, Any]]:
        out = []
        for r in result:
            masks = None
            if self.segmentation:
                masks = _numpy(r.masks.data) > 0.5 if r.masks is not None else None
            out.append({
                "boxes": _numpy(r.boxes.xyxy), "scores": _numpy(r.boxes.conf), "classes": _numpy(r.boxes.cls),
                "masks": masks,
            })
        return out

    def stages(self, images: list[Any]) -> dict[str, float]:
        """Ultralytics' own per-image ``speed`` record (ms) of one call, as seconds for the whole batch."""
        speed = self.predict(images)[0].speed
        return {
            stage: speed[key] * len(images) / 1e3
            for stage, key in (("pre-process", "preprocess"), ("forward", "inference"), ("post-process", "postprocess"))
        }

    def versions(self) -> dict[str, str]:
        import ultralytics

        return {"tool": f"ultralytics {ultralytics.__version__}", **super().versions()}


class InferenceModels(AutoModelTool):
    """Roboflow's ``inference-models``."""

    name, module, distribution = "inference-models", "inference_models", "inference-models"


TOOLS: dict[str, type[Tool]] = {t.name: t for t in (Floor, InferenceExp, Ultralytics, InferenceModels)}


# --- modes ---------------------------------------------------------------------------------------------------


def read_frames(paths: list[str]) -> list[Any]:
    import cv2

    return [cv2.imread(path) for path in paths]


def cold_start(tool: Tool, threads: OnnxRuntimeThreads) -> dict[str, Any]:
    """Import, load and predict once in this fresh process; seconds and RSS after each step."""
    frames = read_frames(tool.spec["images"][:1])  # numpy + OpenCV imported here, before the clock starts
    baseline = rss_mb()
    start = time.perf_counter()
    tool.import_tool()
    imported = time.perf_counter()
    rss_import = rss_mb()
    tool.load()
    loaded = time.perf_counter()
    tool.predict(frames)
    predicted = time.perf_counter()
    return {
        "import_s": imported - start,
        "load_s": loaded - imported,
        "first_predict_s": predicted - loaded,
        "total_s": predicted - start,
        "rss_before_import_mb": baseline,
        "rss_after_import_mb": rss_import,
        "rss_after_first_predict_mb": rss_mb(),
        "sessions": threads.sessions,
    }


def serve(tool: Tool, threads: OnnxRuntimeThreads, send: Any) -> None:
    """Answer requests, one JSON object per line:

    * ``{"op": "load"}`` → ``load_s`` (Ultralytics builds its predictor lazily, at the first prediction);
    * ``{"op": "info"}`` → ``versions`` and ``sessions`` (what the tool asked ONNX Runtime for), after predicting;
    * ``{"op": "time", "images": [i, ...]}`` → ``seconds`` of one ``predict`` on those frames (indices);
    * ``{"op": "stages", "images": [...]}`` → seconds per stage of one call (``null`` when not separable);
    * ``{"op": "dump", "images": [...], "path": p}`` → the predictions of one call saved as ``.npz`` at ``p``;
    * ``{"op": "profile", "images": [...], "repeats": n, "top": k}`` → cProfile of ``n`` calls, top ``k`` lines;
    * ``{"op": "exit"}``.

    A failing request answers ``{"error": "..."}`` and the worker keeps serving.
    """
    tool.import_tool()
    frames = read_frames(tool.spec["images"])
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "exit":
            return
        try:
            images = [frames[i] for i in request.get("images", [])]
            if op == "load":
                start = time.perf_counter()
                tool.load()
                send({"load_s": time.perf_counter() - start})
            elif op == "info":
                send({"versions": tool.versions(), "sessions": threads.sessions})
            elif op == "time":
                start = time.perf_counter()
                tool.predict(images)
                send({"seconds": time.perf_counter() - start})
            elif op == "stages":
                send({"stages": tool.stages(images)})
            elif op == "dump":
                send({"path": dump(tool, images, request["path"])})
            elif op == "profile":
                send({"profile": profile(tool, images, request["repeats"], request["top"])})
            else:
                send({"error": f"unknown op {op!r}"})
        except Exception as error:  # report and keep serving: the orchestrator marks the tool as failed
            import traceback

            send({"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-4000:]})


def dump(tool: Tool, images: list[Any], path: str) -> str:
    import numpy as np

    arrays: dict[str, Any] = {}
    for index, prediction in enumerate(tool.arrays(tool.predict(images))):
        for key, value in prediction.items():
            if value is not None:
                arrays[f"{index}_{key}"] = np.asarray(value)
    np.savez(path, **arrays)
    return path


def profile(tool: Tool, images: list[Any], repeats: int, top: int) -> str:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        tool.predict(images)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=sorted(TOOLS), required=True)
    parser.add_argument("--threads", type=int, required=True, help="intra_op_num_threads of every ORT session")
    parser.add_argument("--spec", required=True, help="JSON: weights, package_dir, task, images")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--serve", action="store_true")
    mode.add_argument("--cold-start", action="store_true")
    args = parser.parse_args()

    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the tools print (Python or C level) goes to stderr
    sys.stdout = sys.stderr

    def send(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + "\n")

    threads = OnnxRuntimeThreads(args.threads)
    threads.install()
    tool = TOOLS[args.tool](json.loads(args.spec), args.threads)
    if args.cold_start:
        send(cold_start(tool, threads))
    else:
        serve(tool, threads, send)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
