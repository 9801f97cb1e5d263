"""The console script: help everywhere, env, describe and cache against the loopback fake API, errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from helpers.fake_weights_api import metadata_page, onnx_package

from inference_exp.cache import ModelCache
from inference_exp.weights_providers.roboflow import get_roboflow_model_metadata

KEY = "cli_secret_key_0123456789abcd"


@pytest.mark.parametrize(
    "command",
    [[], ["predict"], ["describe"], ["env"], ["batch"], ["cache"], ["cache", "ls"], ["cache", "verify"], ["cache", "rm"], ["cache", "prune"]],
)
def test_every_command_has_help(run_cli, command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: inference-exp")


def test_env_reports_the_machine_and_json_parses(run_cli):
    text = run_cli("env")
    assert text.returncode == 0
    assert "onnxruntime" in text.stdout and "default device" in text.stdout
    document = json.loads(run_cli("env", "--json").stdout)
    assert document["onnxruntime_version"] and "CPUExecutionProvider" in document["onnx_execution_providers"]


def _serve(api, model_id: str = "acme/cli/1") -> None:
    weights = api.add_file("weights.onnx", b"not really onnx")
    names = api.add_file("class_names.txt", b"a\n")
    api.add_model(
        model_id,
        [
            metadata_page(
                model_id,
                [
                    onnx_package("onnxgood", [weights.entry(), names.entry()]),
                    onnx_package("untrusted", [weights.entry()], trusted=False),
                    onnx_package("newopset", [weights.entry()], opset=99),
                ],
            )
        ],
    )


def test_describe_marks_the_chosen_package_and_explains_the_rest(run_cli, fake_api):
    _serve(fake_api)
    result = run_cli("describe", "acme/cli/1", "--api-key", KEY)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    chosen = next(line for line in lines if "onnxgood" in line)
    assert chosen.split()[0] == "1" and chosen.rstrip().endswith("chosen")
    assert any("not from a trusted source" in line for line in lines)
    assert any("opset 99" in line for line in lines)
    assert "This machine:" in result.stdout
    assert KEY not in result.stdout + result.stderr
    document = json.loads(run_cli("describe", "acme/cli/1", "--json", "--api-key", KEY).stdout)
    verdicts = {p["package_id"]: p["verdict"] for p in document["packages"]}
    assert verdicts == {"onnxgood": "chosen", "untrusted": "rejected", "newopset": "rejected"}
    assert fake_api.count("/files/weights.onnx") == 0  # describing downloads nothing


def test_missing_model_is_one_line_and_non_zero(run_cli, fake_api):
    result = run_cli("describe", "acme/missing/1", "--api-key", KEY)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ModelNotFoundError:")
    assert KEY not in result.stderr
    debug = run_cli("--debug", "describe", "acme/missing/1", "--api-key", KEY)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and KEY not in debug.stderr


def test_bad_image_path_fails_before_loading_anything(run_cli, tmp_path):
    result = run_cli("predict", "acme/any/1", str(tmp_path / "nope.jpg"))
    assert result.returncode == 1
    assert "nope.jpg' is neither an image file nor a directory" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no image" in run_cli("predict", "acme/any/1", str(empty)).stderr


def _cache_package(fake_api) -> Path:
    _serve(fake_api)
    metadata = get_roboflow_model_metadata("acme/cli/1")
    cache = ModelCache()
    cache.store_model_metadata("acme/cli/1", metadata)
    return cache.materialize_package(metadata.model_id, metadata.packages[0])


def test_cache_ls_verify_rm_prune(run_cli, fake_api):
    package_dir = _cache_package(fake_api)
    listing = run_cli("cache", "ls")
    assert listing.returncode == 0
    assert "acme/cli/1" in listing.stdout and "onnxgood  2 file(s)" in listing.stdout
    ok = run_cli("cache", "verify")
    assert ok.returncode == 0 and "2 file(s) checked, 0 problem(s)" in ok.stdout

    blob = (package_dir / "weights.onnx").resolve()
    os.chmod(blob, stat.S_IRUSR | stat.S_IWUSR)
    content = bytearray(blob.read_bytes())
    content[0] ^= 0xFF
    blob.write_bytes(bytes(content))
    bad = run_cli("cache", "verify", "acme/cli/1")
    assert bad.returncode == 1
    assert "corrupted: acme/cli/1 onnxgood weights.onnx" in bad.stdout

    removed = run_cli("cache", "rm", "acme/cli/1")
    assert removed.returncode == 0 and removed.stdout.startswith("removed acme/cli/1:")
    assert "the cache holds no model" in run_cli("cache", "ls").stdout
    pruned = run_cli("cache", "prune")
    assert pruned.returncode == 0 and "reclaimed" in pruned.stdout
    assert not any((ModelCache().root / "blobs").iterdir())
