import json

import pytest
import torch

from inference_exp.backends.torchscript import TorchScriptRunner
from inference_exp.errors import CorruptedModelPackageError, ModelRuntimeError


class Nested(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv = torch.nn.Conv2d(3, 2, 1)

    def forward(self, x):
        y = self.conv(x)
        return y.flatten(1), (y * 2, y.sum(dim=1))


def test_runner_flattens_outputs_and_reads_embedded_config(tmp_path):
    module = Nested().eval()
    scripted = torch.jit.trace(module, torch.zeros(1, 3, 4, 4))
    path = tmp_path / "weights.torchscript"
    config = {"task": "detect", "imgsz": [4, 4], "names": {"0": "a"}}
    torch.jit.save(scripted, str(path), _extra_files={"config.txt": json.dumps(config)})
    runner = TorchScriptRunner(path, input_shape=(1, 3, 4, 4))
    assert runner.static_batch_size == 1 and runner.input_hw == (4, 4)
    assert runner.embedded_config() == config
    batch = torch.rand(2, 3, 4, 4)
    outputs = runner(batch)
    flat, (doubled, summed) = module(batch)
    assert [tuple(o.shape) for o in outputs] == [(2, 32), (2, 2, 4, 4), (2, 4, 4)]
    for got, expected in zip(outputs, [flat, doubled, summed], strict=True):
        torch.testing.assert_close(got, expected)


def test_archive_without_config_has_no_embedded_config(tmp_path):
    path = tmp_path / "plain.torchscript"
    torch.jit.save(torch.jit.trace(Nested().eval(), torch.zeros(1, 3, 4, 4)), str(path))
    runner = TorchScriptRunner(path)
    assert runner.embedded_config() is None
    assert runner.static_batch_size is None and runner.input_hw is None


def test_corrupt_archive_is_a_corrupted_package(tmp_path):
    path = tmp_path / "weights.torchscript"
    path.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    with pytest.raises(CorruptedModelPackageError, match="not a loadable TorchScript archive"):
        TorchScriptRunner(path)


def test_wrong_input_is_a_runtime_error_with_a_hint(tmp_path):
    path = tmp_path / "weights.torchscript"
    torch.jit.save(torch.jit.trace(Nested().eval(), torch.zeros(1, 3, 4, 4)), str(path))
    runner = TorchScriptRunner(path)
    with pytest.raises(ModelRuntimeError, match=r"batch of shape \(1, 5, 4, 4\)"):
        runner(torch.zeros(1, 5, 4, 4))
