"""ModelCache.install_package: local files become a verified package, exactly like a download."""

from __future__ import annotations

from pathlib import Path

import pytest
from cache_checks import assert_blobs_verified, blob_names, md5, temp_entries

from inference_exp.cache import ModelCache
from inference_exp.errors import HashMismatchError, InvalidParameterError
from inference_exp.packages.manifests import ModelMetadata, ModelPackage


def _metadata(files: dict[str, bytes], *, declared: dict[str, str] | None = None) -> ModelMetadata:
    declared = declared or {}
    entries = [{"fileHandle": name, "md5Hash": declared.get(name, md5(content))} for name, content in files.items()]
    package = ModelPackage.model_validate(
        {
            "packageId": "local1",
            "trustedSource": True,
            "packageManifest": {"type": "onnx-model-package-v1", "quantization": "fp32", "opset": 17, "dynamicBatchSize": True},
            "packageFiles": entries,
        }
    )
    return ModelMetadata(model_id="local/model", model_architecture="yolov8", task_type="object-detection", packages=(package,))


def _write(tmp_path: Path, files: dict[str, bytes]) -> dict[str, Path]:
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / "src" / name
        paths[name].parent.mkdir(parents=True, exist_ok=True)
        paths[name].write_bytes(content)
    return paths


def test_install_links_verified_blobs_and_marks_the_model_local(tmp_path):
    files = {"weights.onnx": b"onnx bytes", "class_names.txt": b"a\nb\n"}
    cache = ModelCache(tmp_path / "cache")
    package_dir = cache.install_package(_metadata(files), _write(tmp_path, files))
    assert {p.name: p.read_bytes() for p in package_dir.iterdir()} == files
    assert cache.find_package_dir("local/model", "local1") == package_dir
    assert cache.is_installed_locally("local/model")
    assert cache.load_model_metadata("local/model").packages[0].package_id == "local1"
    assert_blobs_verified(cache.root)
    assert len(blob_names(cache.root)) == 2 and temp_entries(cache.root) == []
    # Installing again is a no-op that returns the same directory.
    assert cache.install_package(_metadata(files), _write(tmp_path, files)) == package_dir


def test_install_refuses_content_that_does_not_match_the_declared_md5(tmp_path):
    files = {"weights.onnx": b"onnx bytes"}
    cache = ModelCache(tmp_path / "cache")
    with pytest.raises(HashMismatchError, match=r"weights\.onnx"):
        cache.install_package(_metadata(files, declared={"weights.onnx": md5(b"other")}), _write(tmp_path, files))
    assert blob_names(cache.root) == [] and temp_entries(cache.root) == []
    assert cache.find_package_dir("local/model", "local1") is None
    assert not cache.is_installed_locally("local/model")


def test_install_needs_sources_for_exactly_the_package_files(tmp_path):
    files = {"weights.onnx": b"x", "class_names.txt": b"a\n"}
    cache = ModelCache(tmp_path / "cache")
    sources = _write(tmp_path, files)
    del sources["class_names.txt"]
    with pytest.raises(InvalidParameterError, match="must cover exactly the package files"):
        cache.install_package(_metadata(files), sources)
