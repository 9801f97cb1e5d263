"""HTTP sessions with retries, shared by the Roboflow weights provider and the package downloader.

Transient failures that happen before a response body is read — connection errors, timeouts while waiting
for the response headers and the statuses listed in ``IDEMPOTENT_API_REQUEST_CODES_TO_RETRY`` — are retried
by urllib3's :class:`~urllib3.util.Retry` with exponential back-off plus jitter, honouring ``Retry-After``
(seconds or an HTTP date, capped). Failures while a body is being read are left to the caller: the
downloader resumes the file, the metadata provider reports the service as unavailable.

| variable | default | meaning |
|---|---|---|
| ``API_CALLS_TIMEOUT`` | ``5`` | connect timeout of every request; read timeout of metadata requests (seconds) |
| ``API_CALLS_MAX_TRIES`` | ``3`` | tries per request (not retries) |
| ``IDEMPOTENT_API_REQUEST_CODES_TO_RETRY`` | ``408,429,500,502,503,504`` | statuses retried |
| ``API_CALLS_BACKOFF_FACTOR`` | ``1`` | back-off before try *n* ≥ 3 is ``factor · 2^(n-2)`` s plus up to ``factor`` s of jitter |
| ``API_CALLS_MAX_RETRY_AFTER`` | ``60`` | longest ``Retry-After`` honoured (seconds); longer values are capped |
| ``DOWNLOAD_READ_TIMEOUT`` | ``60`` | read timeout of file downloads (seconds without a byte arriving) |
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from inference_exp.errors import InvalidEnvironmentVariableError
from inference_exp.settings import env_float, env_int, env_list

DEFAULT_RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry policy of one kind of request.

    Attributes:
        tries: attempts per request, the first one included.
        connect_timeout: seconds to establish a connection.
        read_timeout: seconds to wait for the next bytes of a response.
        retry_statuses: HTTP statuses treated as transient.
        backoff_factor: scale of the exponential back-off (seconds).
        max_retry_after: cap on a server's ``Retry-After`` (seconds).
    """

    tries: int
    connect_timeout: float
    read_timeout: float
    retry_statuses: frozenset[int]
    backoff_factor: float
    max_retry_after: float

    @property
    def timeout(self) -> tuple[float, float]:
        """The ``(connect, read)`` pair ``requests`` expects."""
        return (self.connect_timeout, self.read_timeout)

    def backoff_delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (full jitter, capped)."""
        ceiling = min(MAX_BACKOFF_SECONDS, self.backoff_factor * 2 ** max(failures - 1, 0))
        return random.uniform(0, ceiling)


def api_http_settings() -> HttpSettings:
    """Settings for calls to the weights API (read timeout ``API_CALLS_TIMEOUT``)."""
    return _settings_from_env(read_timeout=env_float("API_CALLS_TIMEOUT", 5.0, minimum=0.001))


def download_http_settings() -> HttpSettings:
    """Settings for file downloads (read timeout ``DOWNLOAD_READ_TIMEOUT``)."""
    return _settings_from_env(read_timeout=env_float("DOWNLOAD_READ_TIMEOUT", 60.0, minimum=0.001))


def _settings_from_env(*, read_timeout: float) -> HttpSettings:
    raw_statuses = env_list("IDEMPOTENT_API_REQUEST_CODES_TO_RETRY", tuple(map(str, DEFAULT_RETRY_STATUSES)))
    try:
        statuses = frozenset(int(status) for status in raw_statuses)
    except ValueError:
        raise InvalidEnvironmentVariableError(
            f"IDEMPOTENT_API_REQUEST_CODES_TO_RETRY={','.join(raw_statuses)!r} must be a comma-separated list of HTTP statuses."
        ) from None
    return HttpSettings(
        tries=env_int("API_CALLS_MAX_TRIES", 3, minimum=1),
        connect_timeout=env_float("API_CALLS_TIMEOUT", 5.0, minimum=0.001),
        read_timeout=read_timeout,
        retry_statuses=statuses,
        backoff_factor=env_float("API_CALLS_BACKOFF_FACTOR", 1.0, minimum=0.0),
        max_retry_after=env_float("API_CALLS_MAX_RETRY_AFTER", 60.0, minimum=0.0),
    )


def new_session(settings: HttpSettings) -> requests.Session:
    """A session whose requests retry transient failures before the body (see the module docstring).

    Once the retries are spent, the last response is returned as it is (no exception for a status), and a
    connection failure raises the usual :class:`requests.RequestException`.
    """
    retry = _CappedRetry(
        max_retry_after=settings.max_retry_after,
        total=settings.tries - 1,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=settings.retry_statuses,
        backoff_factor=settings.backoff_factor,
        backoff_jitter=settings.backoff_factor,
        backoff_max=MAX_BACKOFF_SECONDS,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _CappedRetry(Retry):
    """urllib3's :class:`Retry` with ``Retry-After`` capped at ``max_retry_after`` seconds."""

    def __init__(self, *args: Any, max_retry_after: float = 60.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kwargs: Any) -> _CappedRetry:
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.max_retry_after)


def is_http_url(url: object) -> bool:
    """Whether ``url`` is an absolute ``http://`` or ``https://`` URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def describe_url(url: str) -> str:
    """``url`` without its query and fragment, safe to show: signed URLs carry credentials in the query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def describe_request_error(error: BaseException) -> str:
    """A short description of a failed request (kind of failure only: no URL, headers or body)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return "no response before the read timeout"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the response body was cut short"
    if isinstance(error, requests.exceptions.ConnectionError):
        reason = str(error)
        if "Read timed out" in reason:
            return "no data before the read timeout"
        if "IncompleteRead" in reason or "Connection broken" in reason:
            return "the connection broke while reading the response"
        return "connection failed"
    return type(error).__name__
