"""Hostile package metadata is refused before anything is written, and nothing lands outside the cache."""

from __future__ import annotations

import pytest
from cache_checks import files_outside
from helpers.fake_weights_api import onnx_package

from inference_exp.cache import ModelCache
from inference_exp.errors import CorruptedModelPackageError, InsecureModelIdentifierError
from inference_exp.packages.manifests import ModelPackage, PackageFile

HOSTILE_HANDLES = [
    "../escape.onnx",
    "../../../../tmp/escape.onnx",
    "nested/../../escape.onnx",
    "/etc/passwd",
    "C:\\Windows\\escape.onnx",
    "a\\b.onnx",
    "odd$chars.onnx",
    "spaces in name.onnx",
    "trailing.",
    "nul\x00byte",
    "CON",
    ".weights.onnx.lock",
    "model_config.json",
    "",
    "dir/",
]
HOSTILE_URLS = [
    "file:///etc/passwd",
    "ftp://example.com/w.onnx",
    "javascript:alert(1)",
    "//no-scheme/x",
    "http://",
]


def _unvalidated(package_id: str, handle: str, url: str) -> ModelPackage:
    """A package that skipped parsing-time validation (as a buggy or hostile caller might build it)."""
    template = ModelPackage.model_validate(
        onnx_package("template", [{"fileHandle": "w.onnx", "downloadUrl": url}])
    )
    file = PackageFile.model_construct(file_handle=handle, download_url=url, md5_hash="0" * 32)
    return ModelPackage.model_construct(**{**dict(template), "package_id": package_id, "files": (file,)})


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A cache root inside a sandbox directory, so that escapes are observable."""
    root = tmp_path / "sandbox" / "cache"
    monkeypatch.setenv("INFERENCE_HOME", str(root))
    return tmp_path / "sandbox"


@pytest.mark.parametrize("handle", HOSTILE_HANDLES)
def test_hostile_file_handles_are_refused(fake_api, sandbox, handle):
    served = fake_api.add_file("weights.onnx", b"payload")
    with pytest.raises(InsecureModelIdentifierError):
        ModelCache().materialize_package("acme/1", _unvalidated("p1", handle, served.url))
    assert fake_api.requests == []
    assert files_outside(sandbox, sandbox / "cache") == []
    assert not (sandbox / "cache" / "blobs").exists()


@pytest.mark.parametrize("package_id", ["../p1", "p1/..", "", "p 1", "CON", "a" * 256])
def test_hostile_package_ids_are_refused(fake_api, sandbox, package_id):
    served = fake_api.add_file("weights.onnx", b"payload")
    with pytest.raises(InsecureModelIdentifierError):
        ModelCache().materialize_package("acme/1", _unvalidated(package_id, "w.onnx", served.url))
    with pytest.raises(InsecureModelIdentifierError):
        ModelCache().find_package_dir("acme/1", package_id)
    assert fake_api.requests == []
    assert files_outside(sandbox, sandbox / "cache") == []


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_non_http_urls_are_refused(fake_api, sandbox, url):
    with pytest.raises(InsecureModelIdentifierError, match="only http and https"):
        ModelCache().materialize_package("acme/1", _unvalidated("p1", "w.onnx", url))
    assert files_outside(sandbox, sandbox / "cache") == []
    assert not (sandbox / "cache" / "blobs").exists()


def test_missing_download_url_is_a_corrupted_package(fake_api, sandbox):
    package = ModelPackage.model_validate(onnx_package("p1", [{"fileHandle": "w.onnx", "md5Hash": "0" * 32}]))
    with pytest.raises(CorruptedModelPackageError, match="without a download URL"):
        ModelCache().materialize_package("acme/1", package)


def test_model_ids_with_path_characters_stay_inside_the_cache(fake_api, sandbox):
    served = fake_api.add_file("weights.onnx", b"payload")
    valid = ModelPackage.model_validate(onnx_package("p1", [served.entry()]))
    for model_id in ["../../outside", "/etc/x", "..", "a/../../b", "C:\\x"]:
        package_dir = ModelCache().materialize_package(model_id, valid)
        assert (sandbox / "cache" / "models") in package_dir.parents
        assert (package_dir / "weights.onnx").read_bytes() == b"payload"
    assert files_outside(sandbox, sandbox / "cache") == []


def test_a_package_subdirectory_replaced_by_a_link_is_not_followed(fake_api, sandbox, tmp_path):
    served = fake_api.add_file("config.json", b"{}")
    valid = ModelPackage.model_validate(onnx_package("p1", [served.entry("vit/config.json")]))
    cache = ModelCache()
    package_dir = cache.materialize_package("acme/1", valid)
    outside = tmp_path / "outside"
    outside.mkdir()
    (package_dir / "vit" / "config.json").unlink()
    (package_dir / "vit").rmdir()
    (package_dir / "vit").symlink_to(outside)
    assert cache.find_package_dir("acme/1", "p1") is None  # the planted link does not count as the file
    again = cache.materialize_package("acme/1", valid)
    assert (again / "vit" / "config.json").read_bytes() == b"{}"
    assert not (again / "vit").is_symlink()
    assert list(outside.iterdir()) == []
