"""Materialising packages: verified directories, reuse without requests, shared blobs, metadata records."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest
from cache_checks import (
    assert_cache_clean,
    assert_package_dir_holds,
    blob_names,
    md5,
    package,
    sha256,
)
from helpers.fake_weights_api import WEIGHTS_PATH, metadata_page, onnx_package

from inference_exp import settings
from inference_exp.cache import ModelCache
from inference_exp.cache._download import show_progress_bars
from inference_exp.errors import InsecureModelIdentifierError, UntrustedPackageError
from inference_exp.weights_providers.roboflow import get_roboflow_model_metadata

WEIGHTS = os.urandom(300_000)
CONFIG = b'{"image_size": 640}'
NAMES = b"bolt\nnut\n"


@pytest.fixture
def served(fake_api):
    return {
        "weights": fake_api.add_file("weights.onnx", WEIGHTS),
        "config": fake_api.add_file("inference_config.json", CONFIG),
        "names": fake_api.add_file("class_names.txt", NAMES),
    }


def test_provider_pages_to_verified_package_and_reuse_without_requests(fake_api, served):
    pages = [
        metadata_page("acme/1", [onnx_package("first", [served["names"].entry()])]),
        metadata_page("acme/1", [onnx_package("second", [served["names"].entry()])]),
        metadata_page(
            "acme/1",
            [
                onnx_package(
                    "main", [served["weights"].entry(), served["config"].entry(), served["names"].entry()]
                )
            ],
        ),
    ]
    fake_api.add_model("acme/1", pages)
    metadata = get_roboflow_model_metadata("acme/1", api_key="rf-key-for-metadata-only-0123")
    assert [p.package_id for p in metadata.packages] == ["first", "second", "main"]

    cache = ModelCache()
    assert cache.root == settings.cache_root()
    package_dir = cache.materialize_package(metadata.model_id, metadata.packages[2])
    assert_package_dir_holds(
        package_dir, {"weights.onnx": WEIGHTS, "inference_config.json": CONFIG, "class_names.txt": NAMES}
    )
    assert_cache_clean(cache.root)
    assert sorted(blob_names(cache.root)) == sorted(sha256(data) for data in (WEIGHTS, CONFIG, NAMES))
    file_requests = [request for request in fake_api.requests if request.path != WEIGHTS_PATH]
    assert len(file_requests) == 3
    assert all("authorization" not in request.headers for request in file_requests)  # signed URLs need no key
    assert (package_dir / "weights.onnx").is_symlink()
    assert not os.path.isabs(os.readlink(package_dir / "weights.onnx"))  # relocatable cache
    assert not os.stat(package_dir / "weights.onnx").st_mode & stat.S_IWUSR  # blobs are read-only

    requests_before = len(fake_api.requests)
    again = ModelCache().materialize_package(metadata.model_id, metadata.packages[2])
    assert again == package_dir
    assert len(fake_api.requests) == requests_before
    assert ModelCache().find_package_dir("acme/1", "main") == package_dir
    assert ModelCache().find_package_dir("acme/1", "first") is None


def test_blobs_are_shared_between_packages_and_models(fake_api, served):
    cache = ModelCache()
    cache.materialize_package("acme/1", package("p1", [served["weights"].entry(), served["names"].entry()]))
    other = cache.materialize_package(
        "other/7", package("p2", [served["weights"].entry("nested/dir/model.onnx"), served["config"].entry()])
    )
    assert fake_api.count(served["weights"].path) == 1
    assert_package_dir_holds(other, {"nested/dir/model.onnx": WEIGHTS, "inference_config.json": CONFIG})
    assert len(blob_names(cache.root)) == 3
    assert_cache_clean(cache.root)


def test_changed_package_files_replace_the_cached_directory(fake_api, served):
    cache = ModelCache()
    first = cache.materialize_package(
        "acme/1", package("p1", [served["weights"].entry(), served["names"].entry()])
    )
    renamed = fake_api.add_file("class_names_v2.txt", b"bolt\nnut\nwasher\n")
    second = cache.materialize_package(
        "acme/1", package("p1", [served["weights"].entry(), renamed.entry("class_names.txt")])
    )
    assert second == first
    assert_package_dir_holds(second, {"weights.onnx": WEIGHTS, "class_names.txt": b"bolt\nnut\nwasher\n"})
    assert fake_api.count(served["weights"].path) == 1
    assert_cache_clean(cache.root)


def test_links_fall_back_to_hard_links_then_copies(fake_api, served, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("not supported here")

    cache = ModelCache()
    monkeypatch.setattr(os, "symlink", refuse)
    hard = cache.materialize_package("acme/1", package("hard", [served["weights"].entry()]))
    assert not (hard / "weights.onnx").is_symlink() and os.stat(hard / "weights.onnx").st_nlink == 2
    monkeypatch.setattr(os, "link", refuse)
    copied = cache.materialize_package("acme/1", package("copied", [served["weights"].entry()]))
    assert os.stat(copied / "weights.onnx").st_nlink == 1
    assert (copied / "weights.onnx").read_bytes() == WEIGHTS
    record = json.loads((copied.parent / "package.json").read_text())
    assert [file["link"] for file in record["files"]] == ["copy"]
    assert fake_api.count(served["weights"].path) == 1


def test_files_without_hash_are_refused_by_default(fake_api, served):
    cache = ModelCache()
    unhashed = package("p1", [served["weights"].entry(md5=None)])
    with pytest.raises(UntrustedPackageError, match="without a declared MD5"):
        cache.materialize_package("acme/1", unhashed)
    assert fake_api.requests == []
    package_dir = cache.materialize_package("acme/1", unhashed, download_files_without_hash=True)
    assert (package_dir / "weights.onnx").read_bytes() == WEIGHTS
    record = json.loads((package_dir.parent / "package.json").read_text())
    assert record["files"][0]["md5"] is None and record["files"][0]["sha256"] == sha256(WEIGHTS)
    with pytest.raises(UntrustedPackageError):  # trust is decided per call, also for a cached copy
        cache.materialize_package("acme/1", unhashed)


def test_metadata_is_recorded_under_requested_and_canonical_ids(fake_api, served):
    fake_api.add_model(
        "acme-latest", [metadata_page("acme/4", [onnx_package("p1", [served["names"].entry()])])]
    )
    metadata = get_roboflow_model_metadata("acme-latest")
    cache = ModelCache()
    assert cache.load_model_metadata("acme-latest") is None
    cache.store_model_metadata("acme-latest", metadata)
    assert cache.load_model_metadata("acme-latest") == metadata
    assert cache.load_model_metadata("acme/4") == metadata
    model_record = json.loads(cache.layout.model_record("acme-latest").read_text())
    assert model_record["model_id"] == "acme-latest"
    assert fake_api.count(WEIGHTS_PATH) == 1


def test_model_directories_never_collide(fake_api, served):
    cache = ModelCache()
    common = "w" * 60
    first, second = f"{common}/1", f"{common}/2"
    assert cache.layout.model_dir(first) != cache.layout.model_dir(second)
    assert cache.layout.model_dir("a/b") != cache.layout.model_dir("a-b")
    cache.materialize_package(first, package("p1", [served["names"].entry()]))
    cache.materialize_package(second, package("p1", [served["config"].entry()]))
    assert_package_dir_holds(cache.find_package_dir(first, "p1"), {"class_names.txt": NAMES})
    assert_package_dir_holds(cache.find_package_dir(second, "p1"), {"inference_config.json": CONFIG})
    slug = cache.layout.model_dir(first).name
    assert len(slug) <= 48 + 1 + 32 and slug.startswith("w")


def test_a_model_directory_claimed_by_another_id_is_refused(fake_api, served):
    cache = ModelCache()
    cache.materialize_package("acme/1", package("p1", [served["names"].entry()]))
    record_path = cache.layout.model_record("acme/1")
    record_path.write_text(json.dumps({"format": 1, "model_id": "someone/else"}))
    with pytest.raises(InsecureModelIdentifierError, match="belongs to model"):
        cache.materialize_package("acme/1", package("p2", [served["config"].entry()]))


def test_a_corrupted_package_record_means_materialising_again(fake_api, served):
    cache = ModelCache()
    first = cache.materialize_package("acme/1", package("p1", [served["names"].entry()]))
    (first.parent / "package.json").chmod(0o644)
    (first.parent / "package.json").write_text("{not json")
    assert cache.find_package_dir("acme/1", "p1") is None
    again = cache.materialize_package("acme/1", package("p1", [served["names"].entry()]))
    assert_package_dir_holds(again, {"class_names.txt": NAMES})
    assert fake_api.count(served["names"].path) == 1  # the verified blob was reused
    assert md5(NAMES) in {path.stem for path in (cache.root / "index" / "md5").iterdir()}


def test_progress_bar_is_drawn_when_asked(fake_api, served, capsys):
    ModelCache().materialize_package("acme/1", package("p1", [served["weights"].entry()]), progress=True)
    assert "weights.onnx" in capsys.readouterr().err
    ModelCache().materialize_package("acme/1", package("p2", [served["config"].entry()]), progress=False)
    assert capsys.readouterr().err == ""


def test_progress_bars_follow_the_terminal_and_the_switch(monkeypatch):
    monkeypatch.delenv("DISABLE_INTERACTIVE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert show_progress_bars(None) is True
    monkeypatch.setenv("DISABLE_INTERACTIVE_PROGRESS_BARS", "true")
    assert show_progress_bars(None) is False
    assert show_progress_bars(True) is True
    monkeypatch.setenv("DISABLE_INTERACTIVE_PROGRESS_BARS", "false")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert show_progress_bars(None) is False
