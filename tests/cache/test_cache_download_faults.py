"""Downloads under faults: each ends verified or in a typed error, and nothing unverified stays behind."""

from __future__ import annotations

import os
import time

import pytest
from cache_checks import assert_cache_clean, assert_package_dir_holds, blob_names, package
from helpers.fake_weights_api import FakeWeightsApi, corrupted, dropped, stalled, status, truncated

from inference_exp.cache import ModelCache
from inference_exp.errors import DownloadError, HashMismatchError

CONTENT = os.urandom(200_000)


@pytest.fixture
def weights(fake_api):
    return fake_api.add_file("weights.onnx", CONTENT)


def _materialize(weights, **kwargs):
    return ModelCache().materialize_package("acme/1", package("p1", [weights.entry()]), **kwargs)


def test_truncated_body_is_resumed_with_a_range_request(fake_api, weights):
    fake_api.inject(weights.path, truncated(70_000))
    package_dir = _materialize(weights)
    assert_package_dir_holds(package_dir, {"weights.onnx": CONTENT})
    first, second = fake_api.requests_for(weights.path)
    assert "range" not in first.headers
    assert second.headers["range"].startswith("bytes=") and int(second.headers["range"][6:-1]) > 0
    assert_cache_clean(ModelCache().root)


def test_truncated_body_is_restarted_when_ranges_are_unsupported(fake_api, monkeypatch, weights):
    with FakeWeightsApi(support_ranges=False) as plain:
        served = plain.add_file("weights.onnx", CONTENT)
        plain.inject(served.path, truncated(70_000), truncated(140_000))
        package_dir = _materialize(served)
        assert [request.headers.get("range") for request in plain.requests_for(served.path)] == [
            None,
            None,
            None,
        ]
    assert_package_dir_holds(package_dir, {"weights.onnx": CONTENT})
    assert_cache_clean(ModelCache().root)


def test_persistent_truncation_ends_in_download_error(fake_api, weights):
    with FakeWeightsApi(support_ranges=False) as plain:
        served = plain.add_file("weights.onnx", CONTENT)
        plain.inject(served.path, *[truncated(70_000)] * 10)
        with pytest.raises(DownloadError, match="without progress") as caught:
            _materialize(served)
        assert plain.count(served.path) == 4  # one with progress, then three without
    assert not isinstance(caught.value, HashMismatchError)
    root = ModelCache().root
    assert blob_names(root) == []
    assert_cache_clean(root)


def test_wrong_md5_is_a_hash_mismatch_and_nothing_is_kept(fake_api, weights):
    fake_api.inject(weights.path, corrupted())
    with pytest.raises(HashMismatchError, match=weights.md5):
        _materialize(weights)
    root = ModelCache().root
    assert blob_names(root) == []
    assert_cache_clean(root)
    assert ModelCache().find_package_dir("acme/1", "p1") is None
    package_dir = _materialize(weights)  # the next attempt gets the real file
    assert_package_dir_holds(package_dir, {"weights.onnx": CONTENT})


def test_declared_md5_that_never_matches(fake_api, weights):
    wrong = package("p1", [weights.entry(md5="0" * 32)])
    with pytest.raises(HashMismatchError):
        ModelCache().materialize_package("acme/1", wrong)
    assert fake_api.count(weights.path) == 1  # a mismatch is not retried
    assert_cache_clean(ModelCache().root)
    assert blob_names(ModelCache().root) == []


def test_server_error_then_success(fake_api, weights):
    fake_api.inject(weights.path, status(500), status(502))
    assert_package_dir_holds(_materialize(weights), {"weights.onnx": CONTENT})
    assert fake_api.count(weights.path) == 3
    assert_cache_clean(ModelCache().root)


def test_too_many_requests_with_retry_after(fake_api, weights):
    fake_api.inject(weights.path, status(429, retry_after="1"))
    started = time.monotonic()
    assert_package_dir_holds(_materialize(weights), {"weights.onnx": CONTENT})
    assert time.monotonic() - started >= 0.9
    assert fake_api.count(weights.path) == 2


def test_dropped_connection_is_retried(fake_api, weights):
    fake_api.inject(weights.path, dropped())
    assert_package_dir_holds(_materialize(weights), {"weights.onnx": CONTENT})
    assert_cache_clean(ModelCache().root)


def test_stall_mid_body_past_the_read_timeout_is_resumed(fake_api, weights):
    fake_api.inject(weights.path, stalled(2.0, after_bytes=80_000))
    assert_package_dir_holds(_materialize(weights), {"weights.onnx": CONTENT})
    assert fake_api.count(weights.path) == 2
    assert_cache_clean(ModelCache().root)


def test_stall_before_headers_is_retried(fake_api, weights):
    fake_api.inject(weights.path, stalled(2.0))
    assert_package_dir_holds(_materialize(weights), {"weights.onnx": CONTENT})
    assert fake_api.count(weights.path) == 2


def test_unavailable_file_store_ends_in_download_error(fake_api, weights):
    fake_api.inject(weights.path, *[status(503)] * 3)
    with pytest.raises(DownloadError, match="HTTP 503"):
        _materialize(weights)
    assert fake_api.count(weights.path) == 3
    assert_cache_clean(ModelCache().root)


@pytest.mark.parametrize("code", [403, 404])
def test_refused_download_is_not_retried(fake_api, weights, code):
    fake_api.inject(weights.path, status(code))
    with pytest.raises(DownloadError, match=f"HTTP {code}"):
        _materialize(weights)
    assert fake_api.count(weights.path) == 1
    assert_cache_clean(ModelCache().root)


def test_failure_in_a_later_file_keeps_verified_earlier_blobs_but_no_package(fake_api, weights):
    names = fake_api.add_file("class_names.txt", b"a\nb\n")
    fake_api.inject(names.path, corrupted())
    with pytest.raises(HashMismatchError):
        ModelCache().materialize_package("acme/1", package("p1", [weights.entry(), names.entry()]))
    root = ModelCache().root
    assert ModelCache().find_package_dir("acme/1", "p1") is None
    assert blob_names(root) == [weights.sha256]
    assert_cache_clean(root)
    package_dir = ModelCache().materialize_package("acme/1", package("p1", [weights.entry(), names.entry()]))
    assert_package_dir_holds(package_dir, {"weights.onnx": CONTENT, "class_names.txt": b"a\nb\n"})
    assert fake_api.count(weights.path) == 1


def test_signed_url_query_never_appears_in_errors(fake_api, weights):
    signed = {**weights.entry(), "downloadUrl": weights.url + "?X-Goog-Signature=topsecretsignature"}
    fake_api.inject(weights.path, status(404))
    with pytest.raises(DownloadError) as caught:
        ModelCache().materialize_package("acme/1", package("p1", [signed]))
    assert "topsecretsignature" not in str(caught.value)
    assert weights.path in str(caught.value)
