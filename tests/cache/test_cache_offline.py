"""Offline mode: cached models work without a single request; anything missing is a typed error."""

from __future__ import annotations

import pytest
from cache_checks import assert_package_dir_holds, package
from helpers.fake_weights_api import metadata_page, onnx_package

from inference_exp.cache import ModelCache, ResolutionEntry
from inference_exp.errors import OfflineModelNotCachedError
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.weights_providers.roboflow import get_roboflow_model_metadata


@pytest.fixture
def warmed(fake_api, monkeypatch):
    """A model fetched, recorded and materialised online; then the switch to offline mode."""
    weights = fake_api.add_file("weights.onnx", b"w" * 1000)
    names = fake_api.add_file("class_names.txt", b"a\n")
    fake_api.add_model(
        "acme/1", [metadata_page("acme/1", [onnx_package("p1", [weights.entry(), names.entry()])])]
    )
    cache = ModelCache()
    metadata = get_roboflow_model_metadata("acme/1")
    cache.store_model_metadata("acme/1", metadata)
    package_dir = cache.materialize_package("acme/1", metadata.packages[0])
    key = cache.resolution_key({"model_id": "acme/1"}, environment=RuntimeEnvironment(), api_key=None)
    cache.store_resolution(key, ResolutionEntry("acme/1", "p1", {"backend": "onnx"}))
    fake_api.requests.clear()
    monkeypatch.setenv("OFFLINE_MODE", "true")
    return cache, metadata, package_dir, key


def test_cached_model_is_served_offline_without_requests(fake_api, warmed):
    cache, _, package_dir, key = warmed
    metadata = cache.load_model_metadata("acme/1")
    assert metadata is not None
    assert cache.materialize_package("acme/1", metadata.packages[0]) == package_dir
    assert_package_dir_holds(package_dir, {"weights.onnx": b"w" * 1000, "class_names.txt": b"a\n"})
    hit = cache.lookup_resolution(key)
    assert hit is not None and hit.package_dir == package_dir and hit.details == {"backend": "onnx"}
    assert fake_api.requests == []


def test_uncached_model_is_a_typed_error_offline(fake_api, warmed):
    cache, _, _, _ = warmed
    other = fake_api.add_file("other.onnx", b"o")
    assert cache.load_model_metadata("other/2") is None
    with pytest.raises(OfflineModelNotCachedError, match=r"p9 of model 'other/2' .*never downloaded"):
        cache.materialize_package("other/2", package("p9", [other.entry()]))
    with pytest.raises(OfflineModelNotCachedError):
        get_roboflow_model_metadata("other/2")
    assert fake_api.requests == []
    assert not cache.layout.model_dir("other/2").exists()


def test_missing_file_is_named_offline(fake_api, warmed):
    cache, metadata, package_dir, _ = warmed
    blob = (package_dir / "class_names.txt").resolve()
    blob.chmod(0o644)
    blob.unlink()
    with pytest.raises(OfflineModelNotCachedError, match=r"class_names\.txt"):
        cache.materialize_package("acme/1", metadata.packages[0])
    assert cache.find_package_dir("acme/1", "p1") is None
    assert fake_api.requests == []


def test_package_changed_since_caching_is_not_served_offline(fake_api, warmed):
    cache, _, _, _ = warmed
    changed = fake_api.add_file("weights_v2.onnx", b"new")
    with pytest.raises(OfflineModelNotCachedError, match="does not match"):
        cache.materialize_package("acme/1", package("p1", [changed.entry("weights.onnx")]))
    assert fake_api.requests == []
