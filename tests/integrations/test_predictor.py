"""ModelPredictor without Ray (a stand-in model), the worker plan, errors crossing processes, Ray missing."""

from __future__ import annotations

import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from inference_exp import AutoModel
from inference_exp.entities import Detections, Embeddings
from inference_exp.errors import (
    InvalidParameterError,
    MissingDependencyError,
    ModelLoadingError,
    ModelNotFoundError,
    ModelRuntimeError,
)
from inference_exp.integrations.ray import (
    ModelPredictor,
    WorkerPlan,
    _RemoteFailure,
    plan_workers,
    read_images_dataset,
    require_ray,
)

FAILING_GREY = 13  # the stand-in model raises on images of this grey level


class MeanModel:
    """One detection per image: the whole image as its box, its mean grey level / 255 as its score."""

    class_names = ("thing",)

    def __init__(self, output: str = "detections") -> None:
        self.output = output
        self.calls: list[tuple[int, dict]] = []

    def __call__(self, images: list[np.ndarray], **params) -> list:
        self.calls.append((len(images), params))
        if self.output == "embeddings":
            return Embeddings(embeddings=torch.zeros((len(images), 4)))
        predictions = []
        for image in images:
            mean = float(image.mean())
            if round(mean) == FAILING_GREY:
                raise ModelRuntimeError("this image breaks the model")
            height, width = image.shape[:2]
            predictions.append(
                Detections(
                    xyxy=torch.tensor([[0.0, 0.0, width, height]]),
                    class_id=torch.tensor([0]),
                    confidence=torch.tensor([mean / 255]),
                    class_names=self.class_names,
                )
            )
        return predictions


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """``AutoModel.from_pretrained`` returns a :class:`MeanModel`; the list records each call's arguments."""
    calls: list[tuple[str, dict]] = []

    def from_pretrained(model_id_or_path, **kwargs):
        calls.append((model_id_or_path, kwargs))
        return MeanModel(kwargs.pop("output", "detections"))

    monkeypatch.setattr(AutoModel, "from_pretrained", staticmethod(from_pretrained))
    return calls


def png(grey: int, height: int = 12, width: int = 20) -> bytes:
    return cv2.imencode(".png", np.full((height, width, 3), grey, dtype=np.uint8))[1].tobytes()


def test_rows_in_input_order_with_error_rows_for_unreadable_files(loads):
    pa = pytest.importorskip("pyarrow")
    predictor = ModelPredictor("some/model/1", params={"confidence": 0.5})
    batch = pa.table(
        {
            "bytes": [png(51), b"", b"not an image", None, png(102, 30, 40)],
            "path": ["a.png", "empty.png", "text.jpg", "null.png", "b.png"],
        }
    )
    rows = predictor(batch).to_pylist()
    assert [row["image_id"] for row in rows] == ["a.png", "empty.png", "text.jpg", "null.png", "b.png"]
    assert rows[1]["error"] == "InvalidInputError: empty.png is empty"
    assert rows[2]["error"].startswith("InvalidInputError: text.jpg is not a decodable image")
    assert rows[3]["error"] == "InvalidInputError: null.png is empty"
    good = [rows[0], rows[4]]
    assert all(row["error"] is None for row in good)
    assert [(row["image_width"], row["image_height"]) for row in good] == [(20, 12), (40, 30)]
    assert [row["xyxy"] for row in good] == [[[0.0, 0.0, 20.0, 12.0]], [[0.0, 0.0, 40.0, 30.0]]]
    np.testing.assert_allclose([row["confidence"][0] for row in good], [0.2, 0.4], rtol=1e-6)
    assert predictor.model.calls == [(2, {"confidence": 0.5})]  # the readable images, in one call


def test_a_failing_batch_is_retried_image_by_image(loads):
    predictor = ModelPredictor("m")
    batch = {
        "bytes": np.array([png(51), png(FAILING_GREY), png(102)], dtype=object),
        "path": np.array(["a", "b", "c"]),
    }
    rows = predictor(batch).to_pylist()
    assert [row["error"] for row in rows] == [None, "ModelRuntimeError: this image breaks the model", None]
    assert rows[0]["class_name"] == ["thing"] and rows[2]["class_name"] == ["thing"]
    assert [size for size, _ in predictor.model.calls] == [3, 1, 1, 1]


def test_custom_columns_and_a_missing_column(loads):
    predictor = ModelPredictor("m", bytes_column="data", id_column="key")
    [row] = predictor({"data": [png(51)], "key": [7]}).to_pylist()
    assert row["image_id"] == "7" and row["error"] is None
    with pytest.raises(InvalidParameterError, match="no column 'key'"):
        predictor({"data": [png(51)]})


def test_threads_reach_onnx_runtime_and_torch(loads):
    before = torch.get_num_threads()
    try:
        ModelPredictor("m", threads=1, api_key="k", backend="onnx")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    ModelPredictor("m", threads=1, onnx_intra_op_num_threads=3)
    torch.set_num_threads(before)
    ModelPredictor("m")  # outside Ray: the runtimes' defaults
    assert torch.get_num_threads() == before
    assert [kwargs for _, kwargs in loads] == [
        {"api_key": "k", "backend": "onnx", "onnx_intra_op_num_threads": 1},
        {"onnx_intra_op_num_threads": 3},
        {},
    ]


def test_check_raises_what_every_batch_would_raise(loads):
    ModelPredictor("m").check()
    with pytest.raises(ModelRuntimeError, match="no layout for Embeddings"):
        ModelPredictor("m", output="embeddings").check()


@pytest.mark.parametrize(
    ("workers", "nodes", "gpus", "expected"),
    [
        (2, [2], 0, WorkerPlan(2, 0.5, 0.0, 1)),  # 2 cores: one CPU stays free for reading
        (1, [2], 0, WorkerPlan(1, 1.0, 0.0, 2)),
        (4, [2], 0, WorkerPlan(4, 0.25, 0.0, 1)),
        (3, [16], 0, WorkerPlan(3, 5.0, 0.0, 5)),
        (1, [1], 0, WorkerPlan(1, 0.5, 0.0, 1)),
        (2, [8, 8], 0, WorkerPlan(2, 7.0, 0.0, 8)),  # one worker per node
        (2, [8, 8, 0], 0, WorkerPlan(2, 7.0, 0.0, 8)),  # CPU-less nodes do not count
        (3, [8, 8], 0, WorkerPlan(3, 3.5, 0.0, 4)),  # two on a node
        (4, [8, 4], 2, WorkerPlan(4, 1.5, 0.5, 2)),  # the smallest node decides; GPUs shared
        (1, [8], 4, WorkerPlan(1, 7.0, 1.0, 8)),
    ],
)
def test_worker_plan(workers, nodes, gpus, expected):
    plan = plan_workers(workers, nodes, gpus=gpus)
    assert plan == expected
    per_node = -(-workers // len([n for n in nodes if n]))
    assert plan.cpus_per_worker * per_node <= min(n for n in nodes if n) - 0.5  # room left for read tasks


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_worker_plan_refuses_bad_counts(workers):
    with pytest.raises(InvalidParameterError, match="workers"):
        plan_workers(workers, [2])
    with pytest.raises(InvalidParameterError, match="no CPU"):
        plan_workers(1, [0])


def test_library_errors_cross_processes_with_their_type_and_text():
    original = MissingDependencyError("onnxruntime", needed_for="Running ONNX models", extra="onnx-cpu")
    rebuilt = pickle.loads(pickle.dumps(_RemoteFailure.of(original))).rebuild()
    assert type(rebuilt) is MissingDependencyError
    assert str(rebuilt) == str(original) and rebuilt.hint == original.hint
    assert (rebuilt.package, rebuilt.extra) == ("onnxruntime", "onnx-cpu")
    not_found = _RemoteFailure.of(ModelNotFoundError("model 'a/b/1' does not exist")).rebuild()
    assert isinstance(not_found, ModelNotFoundError) and "a/b/1" in str(not_found)


def test_other_errors_cross_as_model_loading_errors():
    rebuilt = _RemoteFailure.of(RuntimeError("ORT failed to open the file")).rebuild()
    assert type(rebuilt) is ModelLoadingError
    assert "RuntimeError: ORT failed to open the file" in str(rebuilt)


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"inference-exp\[ray\]"):
        require_ray()
    with pytest.raises(MissingDependencyError, match="Batch inference"):
        read_images_dataset("/tmp")


def test_the_integration_imports_without_ray():
    code = (
        "import sys; sys.modules['ray'] = None; sys.modules['pyarrow'] = None\n"
        "import inference_exp.integrations.ray, inference_exp.cli.main\n"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
