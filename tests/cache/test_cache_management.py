"""Cache management: list, verify (detects corruption), remove and prune with exact byte counts."""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta, timezone

import pytest
from cache_checks import (
    assert_blobs_verified,
    assert_package_dir_holds,
    blob_names,
    package,
    regular_file_bytes,
)
from helpers.fake_weights_api import metadata_page, onnx_package

from inference_exp.cache import ModelCache, ResolutionEntry
from inference_exp.cache._layout import fetch_lock_name
from inference_exp.cache._locks import CacheLock
from inference_exp.cache.management import list_models, prune, remove_model, verify
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.weights_providers.roboflow import get_roboflow_model_metadata

WEIGHTS, CONFIG, NAMES, EXTRA = b"W" * 5000, b"C" * 300, b"N" * 40, b"E" * 700


@pytest.fixture
def populated(fake_api):
    files = {
        name: fake_api.add_file(name, content)
        for name, content in [
            ("weights.onnx", WEIGHTS),
            ("config.json", CONFIG),
            ("names.txt", NAMES),
            ("extra.bin", EXTRA),
        ]
    }
    cache = ModelCache()
    fake_api.add_model(
        "acme/1", [metadata_page("acme/1", [onnx_package("p1", [files["weights.onnx"].entry()])])]
    )
    cache.store_model_metadata("acme/1", get_roboflow_model_metadata("acme/1"))
    cache.materialize_package(
        "acme/1", package("p1", [files["weights.onnx"].entry(), files["names.txt"].entry()])
    )
    cache.materialize_package(
        "acme/1", package("p2", [files["weights.onnx"].entry(), files["config.json"].entry()])
    )
    cache.materialize_package(
        "other/2", package("q1", [files["names.txt"].entry(), files["extra.bin"].entry()])
    )
    key = cache.resolution_key({"model_id": "acme/1"}, environment=RuntimeEnvironment(), api_key=None)
    cache.store_resolution(key, ResolutionEntry("acme/1", "p2"))
    return cache, files


def _model(models, model_id):
    return next(model for model in models if model.model_id == model_id)


def test_list_models(populated):
    cache, _ = populated
    before = datetime.now(timezone.utc) - timedelta(minutes=1)
    models = list_models(cache)
    assert sorted(model.model_id for model in models) == ["acme/1", "other/2"]
    acme = _model(models, "acme/1")
    assert [p.package_id for p in acme.packages] == ["p1", "p2"]
    assert [p.size_bytes for p in acme.packages] == [len(WEIGHTS) + len(NAMES), len(WEIGHTS) + len(CONFIG)]
    assert [p.file_count for p in acme.packages] == [2, 2]
    assert acme.size_bytes == len(WEIGHTS) + len(NAMES) + len(CONFIG)  # shared weights counted once
    assert acme.has_metadata and not _model(models, "other/2").has_metadata
    assert acme.last_used_at is not None and acme.last_used_at >= before
    assert all(p.materialized_at is not None and p.materialized_at >= before for p in acme.packages)
    assert acme.packages[0].path == cache.find_package_dir("acme/1", "p1")


def test_last_used_follows_materialisation(populated, fake_api):
    cache, files = populated
    record = cache.layout.package_record("acme/1", "p1")
    long_ago = time.time() - 86_400
    os.utime(record, (long_ago, long_ago))
    assert _model(list_models(cache), "acme/1").packages[0].last_used_at.timestamp() == pytest.approx(
        long_ago
    )
    cache.materialize_package(
        "acme/1", package("p1", [files["weights.onnx"].entry(), files["names.txt"].entry()])
    )
    assert _model(list_models(cache), "acme/1").packages[0].last_used_at.timestamp() > long_ago + 3600


def test_verify_detects_a_flipped_byte_and_a_missing_blob(populated):
    cache, files = populated
    assert verify(cache=cache).ok
    assert len(verify(cache=cache).checks) == 6
    config_blob = cache.layout.blob(files["config.json"].sha256)
    config_blob.chmod(0o644)
    data = bytearray(config_blob.read_bytes())
    data[100] ^= 0x01
    config_blob.write_bytes(bytes(data))
    cache.layout.blob(files["extra.bin"].sha256).unlink()

    report = verify(cache=cache)
    assert {(c.model_id, c.package_id, c.file_handle, c.status) for c in report.problems} == {
        ("acme/1", "p2", "config.json", "corrupted"),
        ("other/2", "q1", "extra.bin", "missing"),
    }
    acme_only = verify("acme/1", cache=cache)
    assert [(c.package_id, c.file_handle, c.status) for c in acme_only.checks] == [
        ("p1", "weights.onnx", "ok"),
        ("p1", "names.txt", "ok"),
        ("p2", "weights.onnx", "ok"),
        ("p2", "config.json", "corrupted"),
    ]
    assert verify("never/cached", cache=cache).checks == ()


def test_remove_model_frees_exactly_its_own_bytes(populated):
    cache, files = populated
    root = cache.root
    model_dir = cache.layout.model_dir("acme/1")
    own_files = sum(
        path.stat().st_size for path in model_dir.rglob("*") if path.is_file() and not path.is_symlink()
    )
    exclusive = [files["weights.onnx"], files["config.json"]]
    records = sum(cache.layout.md5_record(f.md5).stat().st_size for f in exclusive)
    resolutions = sum(path.stat().st_size for path in cache.layout.resolutions_dir.iterdir())
    expected = own_files + sum(len(f.content) for f in exclusive) + records + resolutions
    before = regular_file_bytes(root)

    freed = remove_model("acme/1", cache=cache)

    assert freed == expected
    assert before - regular_file_bytes(root) == freed
    assert not model_dir.exists()
    assert sorted(blob_names(root)) == sorted([files["names.txt"].sha256, files["extra.bin"].sha256])
    assert_package_dir_holds(
        cache.find_package_dir("other/2", "q1"), {"names.txt": NAMES, "extra.bin": EXTRA}
    )
    assert_blobs_verified(root)
    assert [m.model_id for m in list_models(cache)] == ["other/2"]
    assert remove_model("acme/1", cache=cache) == 0


def test_prune_frees_exactly_the_unneeded_bytes(populated):
    cache, files = populated
    root = cache.root
    shutil.rmtree(
        cache.layout.package_dir("other/2", "q1")
    )  # orphans extra.bin (names.txt is still used by p1)
    orphan = files["extra.bin"]
    orphan_record = cache.layout.md5_record(orphan.md5).stat().st_size
    temp = cache.layout.temp_dir
    stale_part = temp / f"{fetch_lock_name('1' * 32)}.deadbeef.part"
    stale_part.write_bytes(b"x" * 123)
    old_write = temp / "write.cafe.tmp"
    old_write.write_bytes(b"y" * 45)
    an_hour_ago = time.time() - 3600
    os.utime(old_write, (an_hour_ago, an_hour_ago))
    fresh_write = temp / "write.f00d.tmp"
    fresh_write.write_bytes(b"z" * 7)
    busy = CacheLock(cache.layout.lock(fetch_lock_name("2" * 32)), what="a download in progress")
    busy.acquire(1.0)
    busy_part = temp / f"{fetch_lock_name('2' * 32)}.beef.part"
    busy_part.write_bytes(b"b" * 99)
    locks_before = sorted(path.name for path in cache.layout.locks_dir.iterdir())
    before = regular_file_bytes(root)
    try:
        freed = prune(cache)
    finally:
        busy.release()

    assert freed == len(orphan.content) + orphan_record + 123 + 45
    assert before - regular_file_bytes(root) == freed
    assert orphan.sha256 not in blob_names(root)
    assert sorted(path.name for path in temp.iterdir()) == sorted([fresh_write.name, busy_part.name])
    assert [path.name for path in cache.layout.locks_dir.iterdir()] == [busy.path.name]
    assert len(locks_before) > 1
    assert verify(cache=cache).ok
    assert_blobs_verified(root)
    assert prune(cache) == 99  # the download is no longer in progress: its leftover is stale now


def test_prune_keeps_blobs_of_packages_being_assembled(populated):
    cache, files = populated
    lonely = cache.layout.blob(files["extra.bin"].sha256)
    shutil.rmtree(cache.layout.package_dir("other/2", "q1"))
    assembly = cache.layout.temp_dir / "package-0123456789abcdef0123456789abcdef.feed.pkg" / "files"
    assembly.mkdir(parents=True)
    (assembly / "extra.bin").symlink_to(os.path.relpath(lonely, assembly))
    holder = CacheLock(cache.layout.lock("package-0123456789abcdef0123456789abcdef"), what="an assembly")
    holder.acquire(1.0)
    try:
        prune(cache)
    finally:
        holder.release()
    assert lonely.exists()
