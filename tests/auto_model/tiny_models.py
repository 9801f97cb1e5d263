"""Tiny model classes and package directories for AutoModel tests (real ONNX graphs and torch checkpoints)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference_exp.models.base import LoadOptions, Model
from inference_exp.packages.package_files import read_class_names, read_torch_weights

ARCHITECTURE = "tinynet"
TASK = "classification"


class TinyOnnxModel(Model):
    """Doubles its input with a one-node ONNX graph; needs class_names.txt and weights.onnx."""

    task = TASK

    def __init__(self, names: tuple[str, ...], session: Any, options: LoadOptions) -> None:
        self._names, self.session, self.options = names, session, options

    @classmethod
    def from_pretrained(cls, package_dir: str | Path, options: LoadOptions) -> TinyOnnxModel:
        import onnxruntime

        package_dir = Path(package_dir)
        names = read_class_names(package_dir / "class_names.txt")
        session = onnxruntime.InferenceSession(
            str(package_dir / "weights.onnx"), providers=["CPUExecutionProvider"]
        )
        return cls(names, session, options)

    @property
    def class_names(self) -> Sequence[str]:
        return self._names

    def infer(self, images: Any, **params: Any) -> Any:
        return self.session.run(None, {"x": np.asarray(images, dtype=np.float32)})[0]


class TinyTorchModel(Model):
    """Holds the state dict of weights.pt (loaded through the safe checkpoint reader)."""

    task = TASK

    def __init__(self, state: Any, options: LoadOptions) -> None:
        self.state, self.options = state, options

    @classmethod
    def from_pretrained(cls, package_dir: str | Path, options: LoadOptions) -> TinyTorchModel:
        state = read_torch_weights(
            Path(package_dir) / "weights.pt", allow_pickled_weights=options.allow_pickled_weights
        )
        return cls(state, options)

    @property
    def class_names(self) -> Sequence[str]:
        return ("a", "b")

    def infer(self, images: Any, **params: Any) -> Any:
        return self.state["scale"] * images


def write_config(directory: Path, **config: Any) -> None:
    (directory / "model_config.json").write_text(json.dumps(config))


def onnx_package(directory: Path, *, class_names: str | None = "cat\n\ndog\n", **config: Any) -> Path:
    """A library-form ONNX package whose graph computes ``y = 2 * x``."""
    import onnx
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"])],
        "double",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, directory / "weights.onnx")
    if class_names is not None:
        (directory / "class_names.txt").write_text(class_names)
    write_config(
        directory, **{"model_architecture": ARCHITECTURE, "task_type": TASK, "backend_type": "onnx", **config}
    )
    return directory


class PickledScale:
    """An object inside a checkpoint: torch.load(weights_only=True) refuses it."""

    def __init__(self, value: float) -> None:
        self.value = value


def torch_package(directory: Path, *, pickled: bool = False) -> Path:
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"scale": torch.tensor(3.0)}
    if pickled:
        state["extra"] = PickledScale(1.5)
    torch.save(state, directory / "weights.pt")
    write_config(directory, model_architecture=ARCHITECTURE, task_type=TASK, backend_type="torch")
    return directory


CUSTOM_MODULE = """
from inference_exp.models.base import Model


class Custom(Model):
    task = "custom"

    def __init__(self, directory, options):
        self.directory, self.options = directory, options

    @classmethod
    def from_pretrained(cls, package_dir, options):
        return cls(package_dir, options)

    @property
    def class_names(self):
        return ["custom"]

    def infer(self, images, **params):
        return "custom:" + str(images)
"""


def custom_code_package(directory: Path, *, module: str = "model.py") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.py").write_text(CUSTOM_MODULE)
    write_config(directory, model_module=module, model_class="Custom")
    return directory
