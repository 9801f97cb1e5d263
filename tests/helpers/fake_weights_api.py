"""A loopback fake of the Roboflow weights API and of the file store its download URLs point at.

Reusable by any suite that needs "the network"::

    with FakeWeightsApi() as api:
        weights = api.add_file("weights.onnx", b"...")
        api.add_model("acme/1", [metadata_page("acme/1", [onnx_package("p1", [weights.entry()])])])
        monkeypatch.setenv("ROBOFLOW_API_HOST", api.url)
        ...
        assert api.count(api.file_path("weights.onnx")) == 1

* Metadata: ``GET /models/v1/external/weights?modelId=…[&startAfter=…]`` serves the pages given to
  :meth:`FakeWeightsApi.add_model`, filling in ``nextPage`` cursors; an unknown model is a 404.
* Files: ``GET /files/<name>`` serves :meth:`FakeWeightsApi.add_file` content, with ``Range: bytes=N-``
  support (switch off with ``support_ranges=False``) and optional slow streaming (:meth:`throttle`).
* Every request is recorded (:attr:`requests`, :meth:`count`, :meth:`completed`).
* Faults (:class:`Fault`, queued per path with :meth:`inject`, consumed one per request): a status with
  optional ``Retry-After``, a replaced body, a stall before the headers or mid-body, a cut connection
  (truncated body), a dropped connection, a corrupted byte.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

WEIGHTS_PATH = "/models/v1/external/weights"
FILES_PREFIX = "/files/"


@dataclass(frozen=True)
class Fault:
    """One misbehaviour, applied to the next request of a path.

    Attributes:
        status: answer with this HTTP status instead (body: ``body`` or a small JSON error).
        headers: extra response headers (e.g. ``Retry-After``).
        body: replace the response body (and its ``Content-Type`` with ``content_type``).
        content_type: content type of a replaced body.
        stall: seconds to sleep — before the headers when ``after_bytes`` is ``None``, else after sending
            ``after_bytes`` bytes of the body.
        after_bytes: where in the body ``stall`` / ``cut`` happen.
        cut: close the connection after ``after_bytes`` bytes although ``Content-Length`` promised more.
        drop: close the connection without answering at all.
        corrupt: flip the first byte of the body (same length, wrong hash).
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = "application/json"
    stall: float = 0.0
    after_bytes: int | None = None
    cut: bool = False
    drop: bool = False
    corrupt: bool = False


def status(code: int, *, body: Any = None, retry_after: str | None = None) -> Fault:
    """Answer ``code`` (``body``: a JSON-serialisable object or bytes; ``retry_after``: the header value)."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return Fault(status=code, headers=headers, body=raw)


def truncated(after_bytes: int) -> Fault:
    """Send ``after_bytes`` bytes of the body, then close the connection."""
    return Fault(after_bytes=after_bytes, cut=True)


def stalled(seconds: float, *, after_bytes: int | None = None) -> Fault:
    """Sleep ``seconds`` before the headers, or after ``after_bytes`` bytes of the body."""
    return Fault(stall=seconds, after_bytes=after_bytes)


def raw_body(body: bytes, content_type: str = "text/html") -> Fault:
    """Answer 200 with this body instead of the normal one."""
    return Fault(body=body, content_type=content_type)


def corrupted() -> Fault:
    """Flip the first byte of the body."""
    return Fault(corrupt=True)


def dropped() -> Fault:
    """Close the connection without any response."""
    return Fault(drop=True)


@dataclass(frozen=True)
class ServedFile:
    """A file the fake store serves."""

    name: str
    content: bytes
    url: str

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def path(self) -> str:
        return FILES_PREFIX + self.name

    def entry(self, file_handle: str | None = None, *, md5: str | bool | None = True) -> dict[str, Any]:
        """A ``packageFiles[]`` element for this file (``md5=False``/``None``: no hash; a string: that hash)."""
        declared = self.md5 if md5 is True else (None if md5 in (False, None) else md5)
        return {"fileHandle": file_handle or self.name, "downloadUrl": self.url, "md5Hash": declared}


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


def onnx_package(
    package_id: str, files: list[dict[str, Any]], *, trusted: bool = True, **manifest: Any
) -> dict[str, Any]:
    """An ``external-model-package-v1`` element with an ONNX manifest (dynamic batch, fp32, opset 17)."""
    return {
        "type": "external-model-package-v1",
        "packageId": package_id,
        "trustedSource": trusted,
        "packageManifest": {
            "type": "onnx-model-package-v1",
            "backendType": "onnx",
            "dynamicBatchSize": True,
            "quantization": "fp32",
            "opset": 17,
            **manifest,
        },
        "packageFiles": files,
    }


def metadata_page(
    model_id: str,
    packages: list[dict[str, Any]],
    *,
    architecture: str = "yolov8",
    task: str = "object-detection",
    **extra: Any,
) -> dict[str, Any]:
    """A ``modelMetadata`` object (``nextPage`` is filled in by the server)."""
    return {
        "type": "external-model-metadata-v1",
        "modelId": model_id,
        "modelArchitecture": architecture,
        "taskType": task,
        "modelPackages": packages,
        **extra,
    }


class FakeWeightsApi:
    """The server. Start it with ``with FakeWeightsApi() as api:`` (or :meth:`start` / :meth:`stop`).

    Args:
        support_ranges: honour ``Range: bytes=N-`` on files (and advertise ``Accept-Ranges``).
    """

    def __init__(self, *, support_ranges: bool = True) -> None:
        self.support_ranges = support_ranges
        self.requests: list[RecordedRequest] = []
        self._files: dict[str, bytes] = {}
        self._models: dict[str, list[dict[str, Any]]] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._completed: dict[str, int] = defaultdict(int)
        self._throttle: tuple[int, float] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> FakeWeightsApi:
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent): later connections are refused."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeWeightsApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- content -------------------------------------------------------------------------------------------

    def add_file(self, name: str, content: bytes) -> ServedFile:
        """Serve ``content`` at ``/files/<name>``."""
        with self._lock:
            self._files[name] = content
        return ServedFile(name, content, f"{self.url}{FILES_PREFIX}{name}")

    def add_model(self, model_id: str, pages: list[dict[str, Any]]) -> None:
        """Serve these ``modelMetadata`` pages for ``model_id``, chained by generated cursors."""
        with self._lock:
            self._models[model_id] = pages

    def inject(self, path: str, *faults: Fault) -> None:
        """Queue faults for the next requests of ``path`` (one per request, in order)."""
        with self._lock:
            self._faults[path].extend(faults)

    def throttle(self, chunk_bytes: int | None, delay: float = 0.0) -> None:
        """Stream file bodies ``chunk_bytes`` at a time, sleeping ``delay`` seconds between chunks
        (``None``: full speed again)."""
        self._throttle = None if chunk_bytes is None else (chunk_bytes, delay)

    @staticmethod
    def file_path(name: str) -> str:
        return FILES_PREFIX + name

    # --- observations --------------------------------------------------------------------------------------

    def count(self, path: str, method: str = "GET") -> int:
        """How many requests for ``path`` (query ignored) arrived."""
        with self._lock:
            return sum(1 for request in self.requests if request.path == path and request.method == method)

    def completed(self, path: str) -> int:
        """How many responses for ``path`` were sent completely."""
        with self._lock:
            return self._completed[path]

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    # --- serving (called from handler threads) -------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            queue = self._faults.get(request.path)
            return queue.popleft() if queue else None

    def _mark_completed(self, path: str) -> None:
        with self._lock:
            self._completed[path] += 1

    def _respond(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes, bool]:
        """Status, headers, body and whether the body may be throttled."""
        if request.path == WEIGHTS_PATH:
            return (*self._metadata_response(request.query), False)
        if request.path.startswith(FILES_PREFIX):
            with self._lock:
                content = self._files.get(request.path[len(FILES_PREFIX) :])
            if content is None:
                return 404, {}, b"not found", False
            return (*self._file_response(content, request.headers.get("range")), True)
        return 404, {}, b"not found", False

    def _metadata_response(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        model_id = query.get("modelId", [""])[0]
        with self._lock:
            pages = self._models.get(model_id)
        if pages is None:
            return _json(404, {"error": {"message": f"Model {model_id} not found"}})
        cursor = query.get("startAfter", [None])[0]
        index = 0 if cursor is None else _page_index(cursor, len(pages))
        if index is None:
            return _json(400, {"error": {"message": f"bad cursor {cursor}"}})
        page = {**pages[index], "nextPage": f"page-{index + 1}" if index + 1 < len(pages) else None}
        return _json(200, {"status": "ok", "modelMetadata": page})

    def _file_response(self, content: bytes, range_header: str | None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/octet-stream"}
        if not self.support_ranges:
            return 200, headers, content
        headers["Accept-Ranges"] = "bytes"
        if range_header and range_header.startswith("bytes=") and range_header.endswith("-"):
            start = int(range_header[len("bytes=") : -1])
            if start >= len(content):
                return 416, {"Content-Range": f"bytes */{len(content)}"}, b""
            headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
            return 206, headers, content[start:]
        return 200, headers, content


def _json(code: int, document: Any) -> tuple[int, dict[str, str], bytes]:
    return code, {"Content-Type": "application/json"}, json.dumps(document).encode()


def _page_index(cursor: str, page_count: int) -> int | None:
    prefix = "page-"
    if not cursor.startswith(prefix) or not cursor[len(prefix) :].isdigit():
        return None
    index = int(cursor[len(prefix) :])
    return index if 0 < index < page_count else None


class _Handler(BaseHTTPRequestHandler):
    api: FakeWeightsApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method="GET",
            target=self.path,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
        )
        fault = self.api._record(request) or Fault()
        try:
            self._serve(request, fault)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _serve(self, request: RecordedRequest, fault: Fault) -> None:
        if fault.drop:
            self.close_connection = True
            return
        if fault.stall and fault.after_bytes is None:
            self.api._stopping.wait(fault.stall)
        code, headers, body, throttled = self.api._respond(request)
        if fault.status is not None:
            code = fault.status
            body = (
                fault.body
                if fault.body is not None
                else json.dumps({"error": {"message": f"HTTP {code}"}}).encode()
            )
            headers = {"Content-Type": "application/json"}
        elif fault.body is not None:
            body, headers = fault.body, {"Content-Type": fault.content_type}
        if fault.corrupt and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self.send_response(code)
        for name, value in {**headers, **fault.headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        split = len(body) if fault.after_bytes is None else min(fault.after_bytes, len(body))
        self._write(body[:split], throttled)
        if fault.after_bytes is not None:
            if fault.stall:
                self.api._stopping.wait(fault.stall)
            if fault.cut:
                self.close_connection = True
                return
            self._write(body[split:], throttled)
        self.api._mark_completed(request.path)

    def _write(self, data: bytes, throttled: bool) -> None:
        setting = self.api._throttle if throttled else None
        if setting is None:
            self.wfile.write(data)
            self.wfile.flush()
            return
        chunk_bytes, delay = setting
        for start in range(0, len(data), chunk_bytes):
            self.wfile.write(data[start : start + chunk_bytes])
            self.wfile.flush()
            if self.api._stopping.wait(delay):
                return


# Small timeouts and back-off so that fault tests take fractions of a second.
FAST_NETWORK_ENV = {
    "API_CALLS_TIMEOUT": "0.5",
    "API_CALLS_MAX_TRIES": "3",
    "API_CALLS_BACKOFF_FACTOR": "0.01",
    "DOWNLOAD_READ_TIMEOUT": "0.5",
    "DISABLE_INTERACTIVE_PROGRESS_BARS": "true",
}


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeightsApi]:
    """A running :class:`FakeWeightsApi` as ``ROBOFLOW_API_HOST``, with fast network settings.

    ``tests/conftest.py`` registers it for every test suite.
    """
    for name, value in FAST_NETWORK_ENV.items():
        monkeypatch.setenv(name, value)
    with FakeWeightsApi() as api:
        monkeypatch.setenv("ROBOFLOW_API_HOST", api.url)
        yield api
