"""Tiny networks with known outputs, and package directories around them, for the YOLO family tests.

Every network ignores its input except for one number per image, the mean of its pixels ``m``: each output is a
fixed table (batch axis 1) multiplied by ``m``. A white image pre-processed with ``/255`` has ``m = 1`` and so
produces exactly the table; images of other grey levels scale it, which makes batch results distinguishable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

SIZE = 64  # network input height and width of the tiny packages


def onnx_head(
    path: Path,
    tables: Sequence[np.ndarray],
    *,
    batch: int | None = None,
    size: tuple[int, int] = (SIZE, SIZE),
    metadata: dict[str, str] | None = None,
) -> Path:
    """An ONNX graph ``images (batch, 3, H, W) → [table_i * mean(image)]``; ``batch=None`` is a dynamic batch axis."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    batch_dim: Any = "batch" if batch is None else batch
    nodes = [helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1)]
    initializers, outputs = [], []
    for index, table in enumerate(tables):
        table = np.asarray(table, dtype=np.float32)[None]
        initializers.append(numpy_helper.from_array(table, f"table{index}"))
        initializers.append(numpy_helper.from_array(np.array([-1] + [1] * (table.ndim - 1), np.int64), f"shape{index}"))
        nodes.append(helper.make_node("Reshape", ["mean", f"shape{index}"], [f"scale{index}"]))
        nodes.append(helper.make_node("Mul", [f"table{index}", f"scale{index}"], [f"output{index}"]))
        outputs.append(helper.make_tensor_value_info(f"output{index}", TensorProto.FLOAT, [batch_dim, *table.shape[1:]]))
    graph = helper.make_graph(
        nodes,
        "tiny_head",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch_dim, 3, *size])],
        outputs,
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


class _ScaledTables(torch.nn.Module):
    def __init__(self, tables: Sequence[np.ndarray]) -> None:
        super().__init__()
        for index, table in enumerate(tables):
            self.register_buffer(f"table{index}", torch.as_tensor(np.asarray(table, dtype=np.float32))[None])
        self.count = len(tables)

    def forward(self, images: torch.Tensor) -> Any:
        mean = images.mean(dim=(1, 2, 3))
        outputs = []
        for index in range(self.count):
            table = getattr(self, f"table{index}")
            outputs.append(table * mean.reshape([-1] + [1] * (table.dim() - 1)))
        return outputs[0] if self.count == 1 else tuple(outputs)


def torchscript_head(
    path: Path, tables: Sequence[np.ndarray], *, size: tuple[int, int] = (SIZE, SIZE), config: dict | None = None
) -> Path:
    """The same network as :func:`onnx_head`, traced to TorchScript (optionally with a ``config.txt``)."""
    module = torch.jit.trace(_ScaledTables(tables), torch.ones(1, 3, *size))
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"config.txt": json.dumps(config)} if config is not None else {}
    torch.jit.save(module, str(path), _extra_files=extra)
    return path


def inference_config(
    *,
    size: tuple[int, int] = (SIZE, SIZE),
    resize_mode: str = "letterbox",
    padding_value: int = 255,
    post_processing: dict | None = None,
    forward_pass: dict | None = None,
    **extra: Any,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "network_input": {
            "training_input_size": {"height": size[0], "width": size[1]},
            "dynamic_spatial_size_supported": False,
            "color_mode": "rgb",
            "resize_mode": resize_mode,
            "padding_value": padding_value,
            "input_channels": 3,
            "scaling_factor": 255,
        },
        "post_processing": post_processing if post_processing is not None else {"type": "nms", "fused": False},
        **extra,
    }
    if forward_pass is not None:
        config["forward_pass"] = forward_pass
    return config


def write_package(
    directory: Path,
    tables: Sequence[np.ndarray],
    *,
    architecture: str,
    task: str,
    class_names: Sequence[str],
    backend: str = "onnx",
    config: dict[str, Any] | None = None,
    keypoints: Sequence[int] | None = None,
    batch: int | None = None,
) -> Path:
    """A Roboflow-layout package directory around a tiny head (``keypoints``: keypoint count per class)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = config if config is not None else inference_config()
    size = (config["network_input"]["training_input_size"]["height"], config["network_input"]["training_input_size"]["width"])
    if backend == "onnx":
        onnx_head(directory / "weights.onnx", tables, batch=batch, size=size)
    else:
        torchscript_head(directory / "weights.torchscript", tables, size=size)
    (directory / "class_names.txt").write_text("".join(f"{name}\n" for name in class_names))
    (directory / "inference_config.json").write_text(json.dumps(config))
    (directory / "model_config.json").write_text(
        json.dumps({"model_architecture": architecture, "task_type": task, "backend_type": backend})
    )
    if keypoints is not None:
        (directory / "keypoints_metadata.json").write_text(json.dumps([
            {
                "object_class_id": class_id,
                "keypoints": {str(k): f"kp{k}" for k in range(count)},
                "edges": [{"from": k, "to": k + 1} for k in range(count - 1)],
            }
            for class_id, count in enumerate(keypoints)
        ]))
    return directory


def grey(value: int, height: int = SIZE, width: int = SIZE) -> np.ndarray:
    """A constant BGR image."""
    return np.full((height, width, 3), value, dtype=np.uint8)


WHITE = grey(255)
