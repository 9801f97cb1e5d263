import logging
from pathlib import Path

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from inference_exp.backends.onnx import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    TENSORRT_PROVIDER,
    OnnxRunner,
    select_execution_providers,
    trt_engine_cache_dir_for,
)
from inference_exp.errors import CorruptedModelPackageError, InvalidParameterError


class TwoHeads(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y.mean(dim=(2, 3)), torch.sigmoid(y)


def _export(path: Path, *, dynamic: bool, batch: int = 1, metadata: dict[str, str] | None = None) -> TwoHeads:
    module = TwoHeads().eval()
    torch.onnx.export(
        module,
        (torch.zeros(batch, 3, 8, 8),),
        str(path),
        dynamo=False,
        input_names=["images"],
        output_names=["pooled", "maps"],
        dynamic_axes={"images": {0: "batch"}, "pooled": {0: "batch"}, "maps": {0: "batch"}} if dynamic else None,
        opset_version=17,
    )
    if metadata:
        model = onnx.load(str(path))
        for key, value in metadata.items():
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(path))
    return module


def test_runner_matches_torch_and_reports_shape_and_metadata(tmp_path):
    path = tmp_path / "m.onnx"
    module = _export(path, dynamic=True, metadata={"task": "detect", "names": "{0: 'a'}"})
    runner = OnnxRunner(path)
    assert runner.static_batch_size is None
    assert runner.input_hw == (8, 8)
    assert runner.metadata == {"task": "detect", "names": "{0: 'a'}"}
    assert runner.providers == [CPU_PROVIDER]
    batch = torch.rand(3, 3, 8, 8)
    pooled, maps = runner(batch)
    expected_pooled, expected_maps = module(batch)
    assert pooled.shape == (3, 4) and maps.shape == (3, 4, 8, 8)
    torch.testing.assert_close(pooled, expected_pooled, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(maps, expected_maps, atol=1e-5, rtol=1e-4)


def test_static_batch_is_reported(tmp_path):
    path = tmp_path / "static.onnx"
    _export(path, dynamic=False, batch=2)
    assert OnnxRunner(path).static_batch_size == 2


def test_fp16_graph_receives_half_input(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Mul", ["images", "two"], ["out"])],
        "half",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT16, ["batch", 3, 2, 2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT16, ["batch", 3, 2, 2])],
        [helper.make_tensor("two", TensorProto.FLOAT16, [], [2.0])],
    )
    path = tmp_path / "half.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    runner = OnnxRunner(path)
    assert runner.input_dtype == torch.float16
    [out] = runner(torch.full((1, 3, 2, 2), 0.25))
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), torch.full((1, 3, 2, 2), 0.5))


def test_unreadable_graph_is_a_corrupted_package(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07this is not protobuf")
    with pytest.raises(CorruptedModelPackageError, match=r"ONNX Runtime cannot load 'broken\.onnx'"):
        OnnxRunner(path)


def test_graph_with_two_inputs_is_refused(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["c"])],
        "two",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "two.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(CorruptedModelPackageError, match="has 2 inputs"):
        OnnxRunner(path)


def test_thread_count_is_validated(tmp_path):
    path = tmp_path / "m.onnx"
    _export(path, dynamic=True)
    assert OnnxRunner(path, intra_op_num_threads=1).session.get_session_options().intra_op_num_threads == 1
    with pytest.raises(InvalidParameterError):
        OnnxRunner(path, intra_op_num_threads=0)


def test_cuda_request_without_cuda_provider_falls_back_to_cpu_with_a_warning(tmp_path, caplog):
    path = tmp_path / "m.onnx"
    _export(path, dynamic=True)
    with caplog.at_level(logging.WARNING, logger="inference_exp"):
        runner = OnnxRunner(path, device="cuda")
    assert runner.device.type == "cpu" and runner.providers == [CPU_PROVIDER]
    assert "CUDAExecutionProvider was requested but is not available" in caplog.text
    assert "onnx-cu12" in caplog.text
    pooled, _ = runner(torch.rand(1, 3, 8, 8))
    assert pooled.device.type == "cpu"


def test_provider_selection_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("ONNXRUNTIME_EXECUTION_PROVIDERS", raising=False)
    everything = [TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER]
    cpu, cuda1 = torch.device("cpu"), torch.device("cuda:1")
    assert select_execution_providers(cpu, everything) == [CPU_PROVIDER]
    assert select_execution_providers(cuda1, everything) == [(CUDA_PROVIDER, {"device_id": 1}), CPU_PROVIDER]
    cache = tmp_path / "engines"
    chosen = select_execution_providers(cuda1, everything, [TENSORRT_PROVIDER, CUDA_PROVIDER], trt_engine_cache_dir=cache)
    assert chosen[0] == (
        TENSORRT_PROVIDER,
        {"device_id": 1, "trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache), "trt_fp16_enable": True},
    )
    assert [p if isinstance(p, str) else p[0] for p in chosen] == [TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER]
    custom = (CUDA_PROVIDER, {"device_id": 0, "arena_extend_strategy": "kSameAsRequested"})
    assert select_execution_providers(cpu, everything, [custom, custom]) == [custom, CPU_PROVIDER]
    monkeypatch.setenv("ONNXRUNTIME_EXECUTION_PROVIDERS", "[CPUExecutionProvider]")
    assert select_execution_providers(cuda1, everything) == [CPU_PROVIDER]


def test_trt_engine_cache_lives_under_the_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("INFERENCE_HOME", str(tmp_path / "home"))
    path = tmp_path / "pkg" / "weights.onnx"
    directory = trt_engine_cache_dir_for(path)
    assert directory.is_relative_to(tmp_path / "home")
    assert not directory.is_relative_to(path.parent)


def test_open_runner_picks_the_backend_and_checks_the_package(tmp_path):
    from inference_exp.backends.factory import open_runner
    from inference_exp.backends.torchscript import TorchScriptRunner
    from inference_exp.errors import CorruptedModelPackageError, ModelImplementationNotFoundError
    from inference_exp.models.base import LoadOptions
    from inference_exp.packages.types import BackendType

    _export(tmp_path / "weights.onnx", dynamic=True)
    runner = open_runner(tmp_path, LoadOptions(backend=BackendType.ONNX, extra={"onnx_intra_op_num_threads": 1}))
    assert isinstance(runner, OnnxRunner)
    assert runner.session.get_session_options().intra_op_num_threads == 1
    with pytest.raises(InvalidParameterError, match="onnx_intra_op_num_threads must be an int"):
        open_runner(tmp_path, LoadOptions(backend=BackendType.ONNX, extra={"onnx_intra_op_num_threads": "2"}))
    torch.jit.save(torch.jit.trace(TwoHeads().eval(), torch.zeros(1, 3, 8, 8)), str(tmp_path / "weights.torchscript"))
    scripted = open_runner(tmp_path, LoadOptions(backend=BackendType.TORCH_SCRIPT), input_shape=(1, 3, 8, 8))
    assert isinstance(scripted, TorchScriptRunner) and scripted.static_batch_size == 1
    with pytest.raises(CorruptedModelPackageError, match=r"other\.onnx is missing"):
        open_runner(tmp_path, LoadOptions(backend=BackendType.ONNX), weights_file="other.onnx")
    with pytest.raises(ModelImplementationNotFoundError, match="no runner for the trt backend"):
        open_runner(tmp_path, LoadOptions(backend=BackendType.TRT))
