"""The auto-resolution cache: keys, expiry, invalidation, and no API key on disk."""

from __future__ import annotations

import json
import os
import stat

import pytest
from cache_checks import package

from inference_exp.cache import ModelCache, ResolutionEntry
from inference_exp.errors import InsecureModelIdentifierError, InvalidParameterError
from inference_exp.runtime.environment import GpuDevice, RuntimeEnvironment

API_KEY = "rf-resolution-key-0123456789"
REQUEST = {"model_id": "acme/1", "backend": ["onnx"], "batch_size": None}


@pytest.fixture
def cached(fake_api):
    cache = ModelCache()
    weights = fake_api.add_file("weights.onnx", b"w")
    cache.materialize_package("acme/1", package("p1", [weights.entry()]))
    return cache


def test_keys_depend_on_request_machine_and_credential(cached):
    cpu, gpu = RuntimeEnvironment(), RuntimeEnvironment(gpus=(GpuDevice("nvidia-l4", "8.9"),))
    key = cached.resolution_key(REQUEST, environment=cpu, api_key=API_KEY)
    assert key == cached.resolution_key(
        dict(reversed(REQUEST.items())), environment=cpu.fingerprint(), api_key=API_KEY
    )
    others = {
        cached.resolution_key({**REQUEST, "backend": ["trt"]}, environment=cpu, api_key=API_KEY),
        cached.resolution_key(REQUEST, environment=gpu, api_key=API_KEY),
        cached.resolution_key(REQUEST, environment=cpu, api_key=API_KEY + "x"),
        cached.resolution_key(REQUEST, environment=cpu, api_key=None),
    }
    assert key not in others and len(others) == 4
    assert ModelCache(cached.root).resolution_key(REQUEST, environment=cpu, api_key=API_KEY) == key


def test_credential_hash_is_keyed_per_cache(cached, tmp_path):
    environment = RuntimeEnvironment()
    elsewhere = ModelCache(tmp_path / "other-cache")
    key_here = cached.resolution_key(REQUEST, environment=environment, api_key=API_KEY)
    assert elsewhere.resolution_key(REQUEST, environment=environment, api_key=API_KEY) != key_here
    secret = cached.layout.credential_key_file
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes()) == 32


def test_store_and_lookup_round_trip_without_the_key_on_disk(cached):
    key = cached.resolution_key(REQUEST, environment=RuntimeEnvironment(), api_key=API_KEY)
    assert cached.lookup_resolution(key) is None
    cached.store_resolution(
        key, ResolutionEntry("acme/1", "p1", {"backend": "onnx", "task": "object-detection"})
    )
    hit = cached.lookup_resolution(key)
    assert hit == ResolutionEntry(
        "acme/1", "p1", {"backend": "onnx", "task": "object-detection"}, hit.created_at
    )
    assert hit.package_dir == cached.find_package_dir("acme/1", "p1")
    for current, _, files in os.walk(cached.root):
        for name in files:
            path = os.path.join(current, name)
            if not os.path.islink(path):
                with open(path, "rb") as handle:
                    assert API_KEY.encode() not in handle.read(), path


def test_entries_expire(cached, monkeypatch):
    key = cached.resolution_key(REQUEST, environment=RuntimeEnvironment(), api_key=None)
    cached.store_resolution(key, ResolutionEntry("acme/1", "p1"))
    path = cached.layout.resolution(key)
    document = json.loads(path.read_text())
    document["created_at"] -= 3 * 3600
    path.write_text(json.dumps(document))
    monkeypatch.setenv("AUTO_LOADER_CACHE_EXPIRATION_MINUTES", "240")
    assert cached.lookup_resolution(key) is not None
    monkeypatch.setenv("AUTO_LOADER_CACHE_EXPIRATION_MINUTES", "120")
    assert cached.lookup_resolution(key) is None
    assert not path.exists()


def test_entry_whose_package_is_gone_is_dropped(cached):
    key = cached.resolution_key(REQUEST, environment=RuntimeEnvironment(), api_key=None)
    cached.store_resolution(key, ResolutionEntry("acme/1", "p2"))
    assert cached.lookup_resolution(key) is None
    assert not cached.layout.resolution(key).exists()


def test_unreadable_entry_is_dropped_and_invalidation_is_idempotent(cached):
    key = cached.resolution_key(REQUEST, environment=RuntimeEnvironment(), api_key=None)
    cached.layout.resolutions_dir.mkdir(parents=True, exist_ok=True)
    cached.layout.resolution(key).write_text('{"format": 1, "model_id": ')
    assert cached.lookup_resolution(key) is None
    assert not cached.layout.resolution(key).exists()
    cached.store_resolution(key, ResolutionEntry("acme/1", "p1"))
    cached.invalidate_resolution(key)
    cached.invalidate_resolution(key)
    assert cached.lookup_resolution(key) is None


def test_malformed_keys_and_details_are_refused(cached):
    with pytest.raises(InsecureModelIdentifierError):
        cached.lookup_resolution("../../etc/passwd")
    with pytest.raises(InsecureModelIdentifierError):
        cached.store_resolution("A" * 64, ResolutionEntry("acme/1", "p1"))
    key = cached.resolution_key(REQUEST, environment=RuntimeEnvironment(), api_key=None)
    with pytest.raises(InvalidParameterError):
        cached.store_resolution(key, ResolutionEntry("acme/1", "p1", {"not json": object()}))
