"""The Roboflow weights provider against a fake weights API on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest
from helpers.fake_weights_api import (
    WEIGHTS_PATH,
    FakeWeightsApi,
    dropped,
    metadata_page,
    onnx_package,
    raw_body,
    stalled,
    status,
)

from inference_exp.errors import (
    ForbiddenModelAccessError,
    InvalidEnvironmentVariableError,
    MalformedModelMetadataError,
    ModelNotFoundError,
    ModelRetrievalError,
    OfflineModelNotCachedError,
    PaymentRequiredModelAccessError,
    ServiceUnavailableError,
    UnauthorizedModelAccessError,
    UsagePausedModelAccessError,
)
from inference_exp.weights_providers.roboflow import (
    PRODUCTION_API_HOST,
    STAGING_API_HOST,
    RoboflowWeightsClient,
    get_roboflow_model_metadata,
    roboflow_api_host,
)

API_KEY = "rf-test-key-0123456789abcdef"
MD5 = "0123456789abcdef0123456789abcdef"


def _file(handle: str, url: str = "https://storage.example.com/x") -> dict:
    return {"fileHandle": handle, "downloadUrl": url, "md5Hash": MD5}


def _single_page_model(api: FakeWeightsApi, model_id: str = "acme/1") -> None:
    api.add_model(model_id, [metadata_page(model_id, [onnx_package("pkg1", [_file("weights.onnx")])])])


def test_three_pages_are_merged_in_order(fake_api):
    pages = [
        metadata_page(
            "acme/1", [onnx_package("a1", [_file("w.onnx")]), onnx_package("a2", [_file("w.onnx")])]
        ),
        metadata_page("acme/1", [onnx_package("b1", [_file("w.onnx")])]),
        metadata_page(
            "acme/1",
            [onnx_package("c1", [_file("w.onnx")])],
            modelVariant="yolov8s",
            recommendedParameters={"confidence": 0.42},
        ),
    ]
    pages[0]["modelVariant"] = "from-first-page"
    fake_api.add_model("acme-alias", pages)

    metadata = get_roboflow_model_metadata("acme-alias", api_key=API_KEY)

    assert [package.package_id for package in metadata.packages] == ["a1", "a2", "b1", "c1"]
    assert metadata.model_id == "acme/1"
    assert metadata.model_variant == "yolov8s"  # model-level fields come from the last page
    assert metadata.recommended_parameters == {"confidence": 0.42}
    assert metadata.next_page is None
    seen = fake_api.requests_for(WEIGHTS_PATH)
    assert [request.query.get("startAfter") for request in seen] == [None, ["page-1"], ["page-2"]]
    assert all(request.query["modelId"] == ["acme-alias"] for request in seen)
    assert all(request.headers["authorization"] == f"Bearer {API_KEY}" for request in seen)


def test_key_comes_from_the_environment_and_no_key_means_no_header(fake_api, monkeypatch):
    _single_page_model(fake_api)
    get_roboflow_model_metadata("acme/1")
    monkeypatch.setenv("ROBOFLOW_API_KEY", API_KEY)
    get_roboflow_model_metadata("acme/1")
    first, second = fake_api.requests_for(WEIGHTS_PATH)
    assert "authorization" not in first.headers
    assert second.headers["authorization"] == f"Bearer {API_KEY}"


def test_extra_headers_and_query_params(fake_api):
    _single_page_model(fake_api)
    get_roboflow_model_metadata(
        "acme/1",
        api_key=API_KEY,
        extra_headers={"X-Trace": "t1", "Authorization": "Basic nope"},
        extra_query_params=[("tag", "a"), ("tag", "b"), ("modelId", "other")],
    )
    (request,) = fake_api.requests_for(WEIGHTS_PATH)
    assert request.headers["x-trace"] == "t1"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"  # the key wins
    assert request.query["tag"] == ["a", "b"]
    assert request.query["modelId"] == ["acme/1"]  # built-in parameters cannot be overridden


def test_host_selection(monkeypatch):
    assert roboflow_api_host() == PRODUCTION_API_HOST
    monkeypatch.setenv("ROBOFLOW_ENVIRONMENT", "staging")
    assert roboflow_api_host() == STAGING_API_HOST
    monkeypatch.setenv("ROBOFLOW_API_HOST", "http://127.0.0.1:9")
    assert roboflow_api_host() == "http://127.0.0.1:9"
    monkeypatch.setenv("ROBOFLOW_API_HOST", "api.roboflow.com")
    with pytest.raises(InvalidEnvironmentVariableError):
        roboflow_api_host()


def test_server_error_then_success_is_retried(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, status(500))
    metadata = get_roboflow_model_metadata("acme/1")
    assert [package.package_id for package in metadata.packages] == ["pkg1"]
    assert fake_api.count(WEIGHTS_PATH) == 2


def test_dropped_connection_is_retried(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, dropped())
    assert get_roboflow_model_metadata("acme/1").packages
    assert fake_api.count(WEIGHTS_PATH) == 2


def test_retry_after_seconds_is_honoured(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, status(429, retry_after="1"))
    started = time.monotonic()
    get_roboflow_model_metadata("acme/1")
    assert time.monotonic() - started >= 0.9
    assert fake_api.count(WEIGHTS_PATH) == 2


def test_retry_after_http_date_is_honoured(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, status(503, retry_after=formatdate(time.time() + 2, usegmt=True)))
    started = time.monotonic()
    get_roboflow_model_metadata("acme/1")
    assert time.monotonic() - started >= 0.5  # one-second date resolution: at least part of the wait
    assert fake_api.count(WEIGHTS_PATH) == 2


def test_retry_after_is_capped(fake_api, monkeypatch):
    monkeypatch.setenv("API_CALLS_MAX_RETRY_AFTER", "0")
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, status(429, retry_after="3600"))
    started = time.monotonic()
    get_roboflow_model_metadata("acme/1")
    assert time.monotonic() - started < 5


def test_stall_past_the_read_timeout_is_retried(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, stalled(2.0))
    assert get_roboflow_model_metadata("acme/1").packages
    assert fake_api.count(WEIGHTS_PATH) == 2


def test_persistent_unavailability_ends_in_a_typed_error(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, *[status(503)] * 5)
    with pytest.raises(ServiceUnavailableError, match="HTTP 503"):
        get_roboflow_model_metadata("acme/1")
    assert fake_api.count(WEIGHTS_PATH) == 3


def test_persistent_stall_ends_in_a_typed_error(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, *[stalled(2.0)] * 3)
    with pytest.raises(ServiceUnavailableError, match="read timeout"):
        get_roboflow_model_metadata("acme/1")
    assert fake_api.count(WEIGHTS_PATH) == 3


def test_refused_connection_ends_in_a_typed_error(monkeypatch):
    with FakeWeightsApi() as api:
        closed_port_url = api.url
    monkeypatch.setenv("API_CALLS_BACKOFF_FACTOR", "0.01")
    with pytest.raises(ServiceUnavailableError, match="connection failed"):
        get_roboflow_model_metadata("acme/1", api_host=closed_port_url)


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (401, UnauthorizedModelAccessError),
        (402, PaymentRequiredModelAccessError),
        (403, ForbiddenModelAccessError),
        (404, ModelNotFoundError),
        (423, UsagePausedModelAccessError),
        (400, ModelRetrievalError),
        (409, ModelRetrievalError),
    ],
)
def test_refusals_are_typed_and_not_retried(fake_api, code, error_class):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, status(code, body={"error": {"message": f"refused by policy {code}"}}))
    with pytest.raises(error_class) as caught:
        get_roboflow_model_metadata("acme/1", api_key=API_KEY)
    assert type(caught.value) is error_class
    assert f"HTTP {code}" in str(caught.value)
    assert f"refused by policy {code}" in str(caught.value)
    assert fake_api.count(WEIGHTS_PATH) == 1


def test_unknown_model_is_not_found(fake_api):
    with pytest.raises(ModelNotFoundError, match="nope/1"):
        get_roboflow_model_metadata("nope/1")


def test_non_json_body_is_malformed_metadata(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, raw_body(b"<html>gateway</html>"))
    with pytest.raises(MalformedModelMetadataError, match="not JSON"):
        get_roboflow_model_metadata("acme/1")


def test_body_without_model_metadata_is_malformed(fake_api):
    _single_page_model(fake_api)
    fake_api.inject(WEIGHTS_PATH, raw_body(b'{"error": "endpoint not found"}', "application/json"))
    with pytest.raises(MalformedModelMetadataError, match="modelMetadata"):
        get_roboflow_model_metadata("acme/1")


def test_model_without_packages_is_an_error(fake_api):
    fake_api.add_model("acme/1", [metadata_page("acme/1", [])])
    with pytest.raises(ModelRetrievalError, match="no packages"):
        get_roboflow_model_metadata("acme/1")


def test_paging_stops_at_ten_pages_with_a_warning(fake_api, caplog):
    pages = [metadata_page("acme/1", [onnx_package(f"p{index}", [_file("w.onnx")])]) for index in range(12)]
    fake_api.add_model("acme/1", pages)
    with caplog.at_level(logging.WARNING, logger="inference_exp"):
        metadata = get_roboflow_model_metadata("acme/1")
    assert [package.package_id for package in metadata.packages] == [f"p{index}" for index in range(10)]
    assert fake_api.count(WEIGHTS_PATH) == 10
    assert any("more than 10 pages" in record.getMessage() for record in caplog.records)


def test_hostile_file_handles_never_become_usable_packages(fake_api):
    hostile = [
        "../escape.onnx",
        "/etc/passwd",
        "a\\b.onnx",
        "odd$name.onnx",
        "ok/../../x",
        "model_config.json",
        "",
    ]
    packages = [onnx_package(f"bad{index}", [_file(handle)]) for index, handle in enumerate(hostile)]
    packages.append(onnx_package("fine", [_file("weights.onnx")]))
    packages.append(onnx_package("../evil", [_file("weights.onnx")]))
    fake_api.add_model("acme/1", [metadata_page("acme/1", packages)])
    metadata = get_roboflow_model_metadata("acme/1")
    assert [package.package_id for package in metadata.packages] == ["fine"]
    assert len(metadata.unusable_packages) == len(hostile) + 1


def test_api_key_never_leaks(fake_api, caplog):
    fake_api.add_model("acme/1", [metadata_page("acme/1", [onnx_package("pkg1", [_file("w.onnx")])])])
    fake_api.inject(WEIGHTS_PATH, status(401, body={"message": f"key {API_KEY} is revoked"}))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(UnauthorizedModelAccessError) as caught:
            get_roboflow_model_metadata("acme/1", api_key=API_KEY)
        fake_api.inject(WEIGHTS_PATH, *[status(503)] * 3)
        with pytest.raises(ServiceUnavailableError) as unavailable:
            get_roboflow_model_metadata("acme/1", api_key=API_KEY)
        get_roboflow_model_metadata("acme/1", api_key=API_KEY)
    for error in (caught.value, unavailable.value):
        assert API_KEY not in str(error) and API_KEY not in repr(error) and API_KEY not in error.message
    assert "revoked" in str(caught.value)
    assert caplog.records, "urllib3 debug logging should have produced records"
    assert all(API_KEY not in record.getMessage() for record in caplog.records)
    assert all(API_KEY not in request.target for request in fake_api.requests)
    assert all("api_key" not in request.query for request in fake_api.requests)
    client = RoboflowWeightsClient(api_host=fake_api.url, api_key=API_KEY, extra_headers={"X-Token": API_KEY})
    assert API_KEY not in repr(client) and API_KEY not in str(client)


def test_offline_mode_refuses_before_any_request(fake_api, monkeypatch):
    _single_page_model(fake_api)
    monkeypatch.setenv("OFFLINE_MODE", "true")
    with pytest.raises(OfflineModelNotCachedError, match="acme/1"):
        get_roboflow_model_metadata("acme/1", api_key=API_KEY)
    assert fake_api.requests == []
