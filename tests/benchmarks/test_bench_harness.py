"""The benchmark harness: statistics, agreement checks, verdicts, ONNX Runtime thread pinning, the worker protocol."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench import Runtime, Worker, WorkerError, compare_predictions, paired_ratio, spread  # noqa: E402
from report import verdicts  # noqa: E402


def test_spread_and_paired_ratio() -> None:
    stats = spread([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (stats["median"], stats["q1"], stats["q3"], stats["min"], stats["max"]) == (3.0, 2.0, 4.0, 1.0, 5.0)
    ratio = paired_ratio([2.0, 4.0, 9.0], [1.0, 2.0, 3.0])
    assert ratio["median"] == 2.0 and ratio["max"] == 3.0
    assert ratio["ratio_of_medians"] == pytest.approx(4.0 / 2.0)


def _save(path: Path, boxes: list, classes: list, masks: np.ndarray | None = None) -> Path:
    arrays = {"0_boxes": np.array(boxes, np.float32), "0_scores": np.linspace(0.9, 0.5, len(boxes)),
              "0_classes": np.array(classes)}
    if masks is not None:
        arrays["0_masks"] = masks
    np.savez(path, **arrays)
    return path


def test_compare_predictions_flags_box_class_count_and_mask_differences(tmp_path: Path) -> None:
    masks = np.zeros((2, 20, 20), dtype=bool)
    masks[0, :10] = masks[1, 10:] = True
    floor = _save(tmp_path / "floor.npz", [[0, 0, 5, 5], [5, 5, 9, 9]], [1, 2], masks)
    assert compare_predictions(_save(tmp_path / "same.npz", [[0, 0, 5, 5], [5, 5, 9, 9.5]], [1, 2], masks), floor)["agrees"]
    moved = compare_predictions(_save(tmp_path / "moved.npz", [[0, 0, 5, 5], [5, 5, 9, 11]], [1, 2], masks), floor)
    assert not moved["agrees"] and moved["max_box_diff_px"] == pytest.approx(2.0)
    assert not compare_predictions(_save(tmp_path / "cls.npz", [[0, 0, 5, 5], [5, 5, 9, 9]], [2, 1], masks), floor)["agrees"]
    fewer = compare_predictions(_save(tmp_path / "fewer.npz", [[0, 0, 5, 5]], [1], masks[:1]), floor)
    assert not fewer["agrees"] and "1 detections" in fewer["why"]
    half = masks.copy()
    half[1, 15:] = False
    shrunk = compare_predictions(_save(tmp_path / "mask.npz", [[0, 0, 5, 5], [5, 5, 9, 9]], [1, 2], half), floor)
    assert not shrunk["agrees"] and shrunk["min_mask_iou"] == pytest.approx(0.5)


def _row(tool: str, batch: int, median_ms: float, **ratios: float) -> dict:
    row = {"model": "random-yolov8n", "batch": batch, "tool": tool, "ms": {"median": median_ms}}
    row.update({key: {"median": value} for key, value in ratios.items()})
    return row


def test_verdicts_judge_each_target_and_explain_misses() -> None:
    stage = {"pre-process": 0.001, "forward": 0.040, "post-process": 0.001}
    report = {
        "e2e": [
            _row("floor", 1, 41.0), _row("inference-exp", 1, 42.0, vs_floor=1.02),
            _row("ultralytics", 1, 46.0, vs_floor=1.12, vs_inference_exp=1.1),
            _row("floor", 8, 330.0), _row("inference-exp", 8, 340.0, vs_floor=1.03),
            _row("ultralytics", 8, 500.0, vs_floor=1.5, vs_inference_exp=1.47),
            _row("inference-models", 8, 460.0, vs_floor=1.4, vs_inference_exp=1.35),
            _row("floor@inference-models", 8, 410.0, vs_floor=1.25),
        ],
        "stages": {"random-yolov8n": {str(b): {"inference-exp": stage, "floor": stage} for b in (1, 8)}},
        "tools": {"inference-models": {"reason": "install failed: no wheel"}},
        "settings": {"models": ["random-yolov8n", "random-yolov8n-seg"]},
    }
    found = {(v["target"][:12], v["model"], v["batch"]): v for v in verdicts(report)}
    assert found[("E2E <= 1.05x", "random-yolov8n", 1)]["met"] is True
    missed = found[(">= 1.3x fast", "random-yolov8n", 1)]
    assert missed["met"] is False and "only 1.12x faster than ultralytics" in missed["why"]  # its ratio to the floor
    assert found[(">= 1.3x fast", "random-yolov8n", 8)]["met"] is True
    runtime = found[(">= 1.5x fast", "random-yolov8n", 8)]
    assert runtime["met"] is False and "older ONNX Runtime (floor@inference-models), takes 1.25x" in runtime["why"]
    absent = found[(">= 1.5x fast", "random-yolov8n", 1)]
    assert absent["met"] is None and "install failed: no wheel" in absent["why"]
    assert found[("E2E <= 1.05x", "random-yolov8n-seg", 1)]["met"] is None


def _identity_graph(path: Path) -> Path:
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_thread_pinning_applies_to_sessions_opened_after_a_later_import(tmp_path: Path) -> None:
    model = _identity_graph(tmp_path / "identity.onnx")
    script = f"""
import json, sys
sys.path.insert(0, {str(BENCHMARKS)!r})
from worker import OnnxRuntimeThreads
pin = OnnxRuntimeThreads(1)
pin.install()
assert "onnxruntime" not in sys.modules
import importlib.util
assert importlib.util.find_spec("onnxruntime") is not None  # a probe first, as runtime detection does
import onnxruntime
session = onnxruntime.InferenceSession({str(model)!r}, providers=["CPUExecutionProvider"])
print(json.dumps([pin.sessions, session.get_session_options().intra_op_num_threads]))
"""
    sessions, threads = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                                  check=True).stdout)
    assert threads == 1
    assert sessions == [{"own_session_options": False, "requested_intra_op_num_threads": 0,
                         "graph_optimization_level": "ORT_ENABLE_ALL", "providers": ["CPUExecutionProvider"],
                         "pinned_intra_op_num_threads": 1}]


def test_worker_serves_loads_times_dumps_and_reports_errors(fixtures_dir: Path, tmp_path: Path) -> None:
    spec = {"weights": str(fixtures_dir / "random-yolov8n" / "weights.onnx"), "package_dir": "", "task": "detect",
            "images": [str(fixtures_dir / "images" / "zidane.jpg")]}
    worker = Worker(Runtime("floor", sys.executable), spec, 1, tmp_path / "floor.log")
    try:
        assert worker.request({"op": "load"})["load_s"] > 0
        assert worker.request({"op": "time", "images": [0, 0]})["seconds"] > 0
        stages = worker.request({"op": "stages", "images": [0]})["stages"]
        assert set(stages) == {"pre-process", "forward", "post-process"}
        dumped = np.load(worker.request({"op": "dump", "images": [0], "path": str(tmp_path / "p.npz")})["path"])
        assert len(dumped["0_boxes"]) == 11  # MANIFEST: random-yolov8n finds 11 objects in zidane.jpg
        info = worker.request({"op": "info"})
        assert info["sessions"][0]["pinned_intra_op_num_threads"] == 1 and "onnxruntime" in info["versions"]
        with pytest.raises(Exception, match="unknown op"):
            worker.request({"op": "nonsense"})
        assert worker.request({"op": "time", "images": [0]})["seconds"] > 0  # still serving after an error
    finally:
        worker.close()
    assert worker.process.returncode == 0


def test_a_worker_that_dies_is_reported_not_raised_raw(tmp_path: Path) -> None:
    worker = Worker(Runtime("floor", sys.executable), {"task": "detect", "images": []}, 1, tmp_path / "dead.log")
    worker.process.stdin.write("not json\n")  # type: ignore[union-attr]
    worker.process.stdin.flush()  # type: ignore[union-attr]
    worker.process.wait(timeout=30)
    with pytest.raises(WorkerError, match="worker exited") as error:
        worker.request({"op": "load"})
    assert "JSONDecodeError" in str(error.value)  # the end of the worker's stderr is in the message
    worker.close()


def test_a_peer_that_cannot_be_installed_gives_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import peers

    monkeypatch.setattr(peers, "VENVS", tmp_path)
    broken = peers.Peer("broken", ((str(tmp_path / "missing-0.1-py3-none-any.whl"),),))
    assert peers.ensure(broken, install=False).reason.startswith("not installed")
    environment = peers.ensure(broken, log=lambda message: None)
    assert environment.python is None and environment.reason.startswith("install failed")
    assert "missing-0.1-py3-none-any.whl" in environment.reason
