"""AutoModel by model id: the Roboflow weights API (a loopback fake) behind the verified cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from helpers.fake_weights_api import FakeWeightsApi, metadata_page, onnx_package
from tiny_models import ARCHITECTURE, TASK
from tiny_models import onnx_package as build_onnx_dir

from inference_exp import AutoModel
from inference_exp.cache import ModelCache
from inference_exp.errors import OfflineModelNotCachedError
from inference_exp.packages.manifests import parse_model_metadata
from inference_exp.runtime.environment import RuntimeEnvironment

MODEL = "acme/tiny/3"
KEY = "rf_test_key_0123456789abcdef"


def _serve_tiny_model(api: FakeWeightsApi, tmp_path: Path) -> dict[str, str]:
    """Three pages: an untrusted package, an int8 package (never a default) and the one that should load."""
    source = build_onnx_dir(tmp_path / "src")
    weights = api.add_file("weights.onnx", (source / "weights.onnx").read_bytes())
    names = api.add_file("class_names.txt", b"cat\ndog\n")
    files = [weights.entry(), names.entry()]
    api.add_model(
        MODEL,
        [
            metadata_page(MODEL, [onnx_package("untrusted1", files, trusted=False)], architecture=ARCHITECTURE, task=TASK),
            metadata_page(MODEL, [onnx_package("int8pkg", files, quantization="int8")], architecture=ARCHITECTURE, task=TASK),
            metadata_page(MODEL, [onnx_package("good", files)], architecture=ARCHITECTURE, task=TASK),
        ],
    )
    return {"weights": weights.path, "names": names.path}


def _metadata_requests(api: FakeWeightsApi) -> int:
    return api.count("/models/v1/external/weights")


def test_three_pages_download_negotiate_load_and_predict(fake_api, tmp_path, cpu_machine: RuntimeEnvironment):
    paths = _serve_tiny_model(fake_api, tmp_path)
    model = AutoModel.from_pretrained(MODEL, api_key=KEY, environment=cpu_machine)
    assert model.loaded_package.package_id == "good"
    np.testing.assert_allclose(model.infer([[1.0, 2.0, 3.0]]), [[2.0, 4.0, 6.0]])
    assert model.class_names == ("cat", "dog")
    assert _metadata_requests(fake_api) == 3
    assert fake_api.count(paths["weights"]) == 1 and fake_api.count(paths["names"]) == 1
    reasons = model.negotiation.rejections
    assert any("not from a trusted source" in r for r in reasons["untrusted1"])
    assert any("quantization int8" in r for r in reasons["int8pkg"])
    for request in fake_api.requests:
        assert KEY not in request.target
    metadata_headers = [r.headers for r in fake_api.requests if r.path.startswith("/models/")]
    assert all(h.get("authorization") == f"Bearer {KEY}" for h in metadata_headers)
    assert all("authorization" not in r.headers for r in fake_api.requests if r.path.startswith("/files/"))


def test_repeated_request_uses_the_resolution_cache_without_any_request(fake_api, tmp_path, cpu_machine):
    _serve_tiny_model(fake_api, tmp_path)
    AutoModel.from_pretrained(MODEL, api_key=KEY, environment=cpu_machine)
    before = len(fake_api.requests)
    again = AutoModel.from_pretrained(MODEL, api_key=KEY, environment=cpu_machine)
    assert len(fake_api.requests) == before
    assert again.loaded_package.package_id == "good"
    assert "int8pkg" in again.negotiation.rejections  # the explanation is still there
    # Another API key is another resolution: the API is asked again (and nothing is downloaded twice).
    AutoModel.from_pretrained(MODEL, api_key=KEY + "x", environment=cpu_machine)
    assert _metadata_requests(fake_api) == 6
    assert sum(r.path.startswith("/files/") for r in fake_api.requests) == 2


def test_offline_mode_serves_cached_packages_and_explains_misses(fake_api, tmp_path, cpu_machine, monkeypatch):
    _serve_tiny_model(fake_api, tmp_path)
    AutoModel.from_pretrained(MODEL, api_key=KEY, environment=cpu_machine)
    before = len(fake_api.requests)
    monkeypatch.setenv("OFFLINE_MODE", "true")
    model = AutoModel.from_pretrained(MODEL, environment=cpu_machine, use_auto_resolution_cache=False)
    assert model.loaded_package.package_id == "good"
    assert model.negotiation.rejections["untrusted1"] == ["not in the local cache (OFFLINE_MODE is on)"]
    with pytest.raises(OfflineModelNotCachedError, match="'acme/other/1' is not in the local cache"):
        AutoModel.from_pretrained("acme/other/1", environment=cpu_machine)
    assert len(fake_api.requests) == before


def test_installed_package_loads_without_any_weights_provider(fake_api, tmp_path, cpu_machine):
    source = build_onnx_dir(tmp_path / "src")
    files = {name: source / name for name in ("weights.onnx", "class_names.txt")}
    document = {
        "modelMetadata": metadata_page(
            "local/tiny",
            [
                onnx_package(
                    "tiny1",
                    [
                        {"fileHandle": name, "downloadUrl": None, "md5Hash": hashlib.md5(path.read_bytes()).hexdigest()}
                        for name, path in files.items()
                    ],
                )
            ],
            architecture=ARCHITECTURE,
            task=TASK,
        )
    }
    package_dir = ModelCache().install_package(parse_model_metadata(document), files)
    assert sorted(p.name for p in package_dir.iterdir()) == ["class_names.txt", "weights.onnx"]
    model = AutoModel.from_pretrained("local/tiny", environment=cpu_machine)
    np.testing.assert_allclose(model.infer([[0.5, 1.0, 1.5]]), [[1.0, 2.0, 3.0]])
    assert fake_api.requests == []


def test_a_yolo_model_by_id_predicts_after_download(fake_api, tmp_path):
    from helpers.tiny_yolo import WHITE, write_package

    head = np.array([[20.0, 40.0], [20.0, 40.0], [10.0, 16.0], [10.0, 16.0], [0.9, 0.1], [0.1, 0.8]], np.float32)
    source = write_package(tmp_path / "yolo", [head], architecture="yolov8", task="object-detection", class_names=["cat", "dog"])
    files = [fake_api.add_file(name, (source / name).read_bytes()).entry() for name in ("weights.onnx", "class_names.txt", "inference_config.json")]
    pages = [metadata_page("acme/yolo/1", [onnx_package(f"p{i}", files, **({"quantization": "int8"} if i else {}))]) for i in range(3)]
    fake_api.add_model("acme/yolo/1", pages)
    model = AutoModel.from_pretrained("acme/yolo/1")
    [detections] = model(WHITE)
    assert detections.class_name == ["cat", "dog"]
    np.testing.assert_allclose(detections.xyxy.numpy(), [[15, 15, 25, 25], [32, 32, 48, 48]])
    assert model.loaded_package.package_id == "p0"
    assert sorted(model.negotiation.rejections) == ["p1", "p2"]


def test_offline_after_one_online_load_with_the_server_stopped(fake_api, tmp_path, cpu_machine, monkeypatch, caplog):
    _serve_tiny_model(fake_api, tmp_path)
    caplog.set_level("DEBUG")
    AutoModel.from_pretrained(MODEL, api_key=KEY, environment=cpu_machine)
    fake_api.stop()
    monkeypatch.setenv("OFFLINE_MODE", "true")
    model = AutoModel.from_pretrained(MODEL, api_key=KEY, environment=cpu_machine)
    np.testing.assert_allclose(model.infer([[1.0, 1.0, 1.0]]), [[2.0, 2.0, 2.0]])
    with pytest.raises(OfflineModelNotCachedError, match="'acme/uncached/1'") as raised:
        AutoModel.from_pretrained("acme/uncached/1", api_key=KEY, environment=cpu_machine)
    # The key is in no log record, no error text and no file of the cache.
    assert KEY not in caplog.text and KEY not in str(raised.value)
    cache_root = ModelCache().root
    files = [path for path in cache_root.rglob("*") if path.is_file() and not path.is_symlink()]
    assert files and all(KEY.encode() not in path.read_bytes() for path in files)


def test_the_api_key_is_masked_in_errors_and_logs(fake_api, cpu_machine, caplog):
    from helpers.fake_weights_api import status

    from inference_exp.errors import UnauthorizedModelAccessError

    caplog.set_level("DEBUG")
    fake_api.inject("/models/v1/external/weights", status(401, body={"error": f"key {KEY} is not valid"}))
    with pytest.raises(UnauthorizedModelAccessError) as raised:
        AutoModel.from_pretrained("acme/secret/1", api_key=KEY, environment=cpu_machine)
    assert KEY not in str(raised.value) and KEY not in repr(raised.value) and KEY not in caplog.text
    assert "***" in str(raised.value)  # the server echoed the key; we show it masked
