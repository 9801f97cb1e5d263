"""Model metadata from the Roboflow weights API: ``GET {host}/models/v1/external/weights?modelId=…``.

* Host: ``api_host`` argument, else ``ROBOFLOW_API_HOST``, else ``ROBOFLOW_ENVIRONMENT`` (``prod``, the
  default → ``https://api.roboflow.com``; anything else → ``https://api.roboflow.one``).
* Authentication: only the ``Authorization: Bearer <key>`` header (key from the argument or
  ``ROBOFLOW_API_KEY``; none → no header, which is enough for public models). The key never appears in a
  URL, and it is registered with :func:`inference_exp.utils.secrets.register_secret` so that messages,
  logs and reprs mask it.
* Paging: ``startAfter=<nextPage>`` until ``nextPage`` is empty, at most 10 pages (a warning is logged
  when more were available); packages of all pages are concatenated, other fields come from the last page.
* Retries and timeouts: see :mod:`inference_exp.utils.http` (``API_CALLS_TIMEOUT``, ``API_CALLS_MAX_TRIES``,
  ``IDEMPOTENT_API_REQUEST_CODES_TO_RETRY``, ``API_CALLS_BACKOFF_FACTOR``, ``API_CALLS_MAX_RETRY_AFTER``).
* Offline mode (``OFFLINE_MODE=true``): refused before any connection is opened.

Errors: 401 → :class:`UnauthorizedModelAccessError`, 403 → :class:`ForbiddenModelAccessError`,
402 → :class:`PaymentRequiredModelAccessError`, 404 → :class:`ModelNotFoundError`,
423 → :class:`UsagePausedModelAccessError`, other 4xx → :class:`ModelRetrievalError` with the service's
message; a body that is not JSON or not valid metadata → :class:`MalformedModelMetadataError`; transient
failures that outlast the retries (5xx, 429, timeouts, refused connections) → :class:`ServiceUnavailableError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from inference_exp import settings
from inference_exp.errors import (
    ForbiddenModelAccessError,
    InvalidEnvironmentVariableError,
    InvalidParameterError,
    MalformedModelMetadataError,
    ModelNotFoundError,
    ModelRetrievalError,
    OfflineModelNotCachedError,
    PaymentRequiredModelAccessError,
    ServiceUnavailableError,
    UnauthorizedModelAccessError,
    UsagePausedModelAccessError,
)
from inference_exp.packages.manifests import ModelMetadata, parse_model_metadata
from inference_exp.utils.http import HttpSettings, api_http_settings, describe_request_error, new_session
from inference_exp.utils.logging import get_logger
from inference_exp.utils.secrets import mask_secret, redact, register_secret

PRODUCTION_API_HOST = "https://api.roboflow.com"
STAGING_API_HOST = "https://api.roboflow.one"
WEIGHTS_ENDPOINT = "/models/v1/external/weights"
MAX_PAGES = 10
_MAX_SERVER_MESSAGE_CHARS = 500
_STATUS_ERRORS: dict[int, type[ModelRetrievalError]] = {
    401: UnauthorizedModelAccessError,
    402: PaymentRequiredModelAccessError,
    403: ForbiddenModelAccessError,
    404: ModelNotFoundError,
    423: UsagePausedModelAccessError,
}
_BUILT_IN_PARAMS = frozenset({"modelId", "startAfter"})

logger = get_logger("weights_providers.roboflow")


def get_roboflow_model_metadata(
    model_id: str,
    *,
    api_key: str | None = None,
    api_host: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query_params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
) -> ModelMetadata:
    """The metadata of ``model_id`` and all of its packages, from the Roboflow weights API.

    Args:
        model_id: model id or alias as the user typed it (``workspace/project/3``, ``yolov8n-640``). The
            returned ``model_id`` is the canonical one, which may differ for an alias.
        api_key: Roboflow API key; default ``ROBOFLOW_API_KEY``; none at all works for public models.
        api_host: API origin; default from ``ROBOFLOW_API_HOST`` / ``ROBOFLOW_ENVIRONMENT``.
        extra_headers: more request headers (``Authorization`` is always the API key's when one is given).
        extra_query_params: more query parameters (``modelId`` and ``startAfter`` cannot be overridden).

    Raises:
        OfflineModelNotCachedError: ``OFFLINE_MODE`` is on.
        ModelRetrievalError: (or a subclass, see the module docstring) the metadata could not be obtained.
    """
    client = RoboflowWeightsClient(
        api_host=api_host or roboflow_api_host(),
        api_key=settings.api_key(api_key),
        extra_headers=dict(extra_headers or {}),
        extra_query_params=_as_pairs(extra_query_params),
    )
    return client.get_model_metadata(model_id)


def roboflow_api_host() -> str:
    """The API origin from ``ROBOFLOW_API_HOST``, else from ``ROBOFLOW_ENVIRONMENT``."""
    explicit = settings.env_str("ROBOFLOW_API_HOST")
    if explicit is not None:
        if not explicit.lower().startswith(("http://", "https://")):
            raise InvalidEnvironmentVariableError(
                f"ROBOFLOW_API_HOST={explicit!r} must be an http:// or https:// origin (e.g. https://api.roboflow.com)."
            )
        return explicit
    environment = settings.env_str("ROBOFLOW_ENVIRONMENT", "prod")
    return PRODUCTION_API_HOST if environment == "prod" else STAGING_API_HOST


@dataclass(frozen=True, repr=False)
class RoboflowWeightsClient:
    """A configured connection to the weights API. Its repr masks the API key and header values.

    Attributes:
        api_host: API origin (``https://api.roboflow.com``).
        api_key: the key sent as ``Authorization: Bearer``; ``None`` for anonymous requests.
        extra_headers: more request headers.
        extra_query_params: more ``(name, value)`` query parameters.
    """

    api_host: str
    api_key: str | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    extra_query_params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        register_secret(self.api_key)
        if not self.api_host.lower().startswith(("http://", "https://")):
            raise InvalidParameterError(f"api_host={self.api_host!r} must start with http:// or https://.")

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else repr(mask_secret(self.api_key))
        headers = {name: "***" for name in self.extra_headers}
        return (
            f"RoboflowWeightsClient(api_host={self.api_host!r}, api_key={key}, extra_headers={headers}, "
            f"extra_query_params={redact(repr(self.extra_query_params))})"
        )

    def get_model_metadata(self, model_id: str) -> ModelMetadata:
        """All pages of ``model_id``'s metadata merged into one (see :func:`get_roboflow_model_metadata`)."""
        if not isinstance(model_id, str) or not model_id.strip():
            raise InvalidParameterError(f"model_id must be a non-empty string, not {model_id!r}.")
        if settings.offline_mode():
            raise OfflineModelNotCachedError(
                f"Offline mode is on (OFFLINE_MODE=true), so the metadata of model '{model_id}' was not requested "
                "from the Roboflow weights API."
            )
        http = api_http_settings()
        pages: list[ModelMetadata] = []
        cursor: str | None = None
        with new_session(http) as session:
            while True:
                page = parse_model_metadata(self._fetch_page(session, http, model_id, cursor))
                pages.append(page)
                cursor = page.next_page
                if not cursor:
                    break
                if len(pages) == MAX_PAGES:
                    logger.warning(
                        "Model '%s' has more than %d pages of packages; only the first %d were read, so some "
                        "packages are ignored.",
                        model_id,
                        MAX_PAGES,
                        MAX_PAGES,
                    )
                    break
        return _merge_pages(model_id, pages)

    def _fetch_page(
        self, session: requests.Session, http: HttpSettings, model_id: str, cursor: str | None
    ) -> Any:
        params = [(name, value) for name, value in self.extra_query_params if name not in _BUILT_IN_PARAMS]
        params.append(("modelId", model_id))
        if cursor:
            params.append(("startAfter", cursor))
        url = self.api_host.rstrip("/") + WEIGHTS_ENDPOINT
        try:
            response = session.get(
                url,
                params=params,
                headers=self._headers(),
                auth=_BearerAuth(self.api_key),
                timeout=http.timeout,
            )
            body = response.content
        except requests.RequestException as error:
            raise ServiceUnavailableError(
                f"The Roboflow weights API at {self.api_host} did not answer for model '{model_id}' "
                f"({describe_request_error(error)}, {http.tries} tries)."
            ) from None
        _raise_for_status(response.status_code, body, model_id, http)
        try:
            return json.loads(body)
        except ValueError:
            content_type = response.headers.get("Content-Type", "unknown")
            raise MalformedModelMetadataError(
                f"The Roboflow weights API answered for model '{model_id}' with a body that is not JSON "
                f"(content type {content_type}, {len(body)} bytes)."
            ) from None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        for name, value in self.extra_headers.items():
            if not (self.api_key and name.lower() == "authorization"):
                headers[name] = value
        return headers


class _BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <key>``; requests drops it on redirects to another host."""

    def __init__(self, api_key: str | None) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._api_key:
            request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


def _raise_for_status(status: int, body: bytes, model_id: str, http: HttpSettings) -> None:
    if 200 <= status < 300:
        return
    if status in http.retry_statuses or status >= 500:
        raise ServiceUnavailableError(
            f"The Roboflow weights API kept failing for model '{model_id}' (HTTP {status} after {http.tries} tries)."
        )
    error_class = _STATUS_ERRORS.get(status, ModelRetrievalError)
    message = _server_message(body)
    suffix = f": {message}" if message else "."
    raise error_class(f"The Roboflow weights API refused model '{model_id}' (HTTP {status}){suffix}")


def _server_message(body: bytes) -> str:
    """The human-readable part of an error body (``message`` / ``error.message`` / ``error``), else its text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        error = document.get("error")
        candidates = [document.get("message"), error.get("message") if isinstance(error, dict) else error]
        text = next((str(candidate) for candidate in candidates if candidate), text)
    if len(text) > _MAX_SERVER_MESSAGE_CHARS:
        text = text[:_MAX_SERVER_MESSAGE_CHARS] + "…"
    return text


def _merge_pages(model_id: str, pages: list[ModelMetadata]) -> ModelMetadata:
    packages = tuple(package for page in pages for package in page.packages)
    unusable = tuple(package for page in pages for package in page.unusable_packages)
    if not packages and not unusable:
        raise ModelRetrievalError(f"The Roboflow weights API lists no packages for model '{model_id}'.")
    return pages[-1].model_copy(
        update={"packages": packages, "unusable_packages": unusable, "next_page": None}
    )


def _as_pairs(params: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> tuple[tuple[str, str], ...]:
    if params is None:
        return ()
    items = params.items() if isinstance(params, Mapping) else params
    return tuple((str(name), str(value)) for name, value in items)
