"""Streaming one file into a temporary path of the cache, hashing and verifying it on the way.

Nothing here publishes anything: the caller renames the finished temporary file into place. On any failure
the temporary file is deleted, so an unverified byte never outlives the call.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import requests

from inference_exp.errors import CorruptedModelPackageError, DownloadError, HashMismatchError
from inference_exp.settings import env_bool
from inference_exp.utils.http import HttpSettings, describe_request_error, describe_url
from inference_exp.utils.logging import get_logger

CHUNK_BYTES = 64 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")

logger = get_logger("cache")


@dataclass(frozen=True)
class DownloadedFile:
    """A complete, verified, fsynced temporary file and what it contains."""

    path: Path
    md5: str
    sha256: str
    size: int


class _BodyInterrupted(Exception):
    """The response body stopped before its end; the download may resume."""


def show_progress_bars(requested: bool | None) -> bool:
    """Whether to draw download bars: as requested, else when stderr is a terminal and
    ``DISABLE_INTERACTIVE_PROGRESS_BARS`` is not set."""
    if requested is not None:
        return requested
    return not env_bool("DISABLE_INTERACTIVE_PROGRESS_BARS", False) and sys.stderr.isatty()


def download_to_temp(
    session: requests.Session,
    url: str,
    temp_path: Path,
    *,
    expected_md5: str | None,
    settings: HttpSettings,
    label: str,
    progress: bool,
    on_progress: Callable[[], None],
) -> DownloadedFile:
    """Download ``url`` into ``temp_path``, computing its MD5 and SHA-256 while writing.

    An interrupted body (connection dropped, read timeout, fewer bytes than ``Content-Length``) is resumed
    with a ``Range`` request when the server supports it, else restarted; the download fails after
    ``settings.tries`` consecutive interruptions that brought no new byte.

    Args:
        session: a session from :func:`inference_exp.utils.http.new_session`.
        url: an http(s) URL (already checked by the caller).
        temp_path: where to write; deleted again on any failure.
        expected_md5: the declared MD5 (lower-case hex), or ``None`` for an unhashed file.
        settings: timeouts and retry policy.
        label: the file's name, for messages and the progress bar.
        progress: draw a tqdm bar on stderr.
        on_progress: called whenever bytes arrive (heartbeats the caller's locks).

    Raises:
        DownloadError: the file could not be fetched completely.
        HashMismatchError: the content does not have the declared MD5.
    """
    partial = _PartialFile(temp_path)
    bar = _progress_bar(label) if progress else None
    try:
        best, stalled = 0, 0
        while True:
            try:
                _fetch_into(session, url, partial, settings, label, bar, on_progress)
                break
            except _BodyInterrupted as interruption:
                if partial.written > best:
                    best, stalled = partial.written, 0
                else:
                    stalled += 1
                if stalled >= settings.tries:
                    raise DownloadError(
                        f"Downloading {label} from {describe_url(url)} kept failing: {interruption} "
                        f"({settings.tries} tries without progress)."
                    ) from None
                logger.info(
                    "Download of %s interrupted (%s) at byte %d; retrying.",
                    label,
                    interruption,
                    partial.written,
                )
                time.sleep(settings.backoff_delay(stalled + 1))
        md5, sha256, size = partial.finish()
    except BaseException:
        partial.discard()
        raise
    finally:
        if bar is not None:
            bar.close()
    if expected_md5 is not None and md5 != expected_md5:
        temp_path.unlink(missing_ok=True)
        raise HashMismatchError(
            f"{label} downloaded from {describe_url(url)} has MD5 {md5}, but the weights provider declared "
            f"{expected_md5}; the file was discarded."
        )
    return DownloadedFile(path=temp_path, md5=md5, sha256=sha256, size=size)


def copy_to_temp(source: Path, temp_path: Path, *, expected_md5: str | None, label: str) -> DownloadedFile:
    """Copy a local file into ``temp_path`` with the same hashing, fsync and MD5 check as a download.

    Raises:
        CorruptedModelPackageError: ``source`` cannot be read.
        HashMismatchError: the content does not have the declared MD5.
    """
    partial = _PartialFile(temp_path)
    try:
        with open(source, "rb") as reader:
            while chunk := reader.read(CHUNK_BYTES * 16):
                partial.write(chunk)
        md5, sha256, size = partial.finish()
    except OSError as error:
        partial.discard()
        raise CorruptedModelPackageError(f"{label}: cannot read {source}: {error}") from error
    except BaseException:
        partial.discard()
        raise
    if expected_md5 is not None and md5 != expected_md5:
        temp_path.unlink(missing_ok=True)
        raise HashMismatchError(f"{label} ({source}) has MD5 {md5}, but the package declares {expected_md5}.")
    return DownloadedFile(path=temp_path, md5=md5, sha256=sha256, size=size)


def _fetch_into(
    session: requests.Session,
    url: str,
    partial: _PartialFile,
    settings: HttpSettings,
    label: str,
    bar: Any,
    on_progress: Callable[[], None],
) -> None:
    headers = {"Accept-Encoding": "identity"}
    if partial.written and partial.resumable:
        headers["Range"] = f"bytes={partial.written}-"
    try:
        response = session.get(url, headers=headers, stream=True, timeout=settings.timeout)
    except requests.RequestException as error:
        raise DownloadError(
            f"Downloading {label} from {describe_url(url)} failed after {settings.tries} tries: "
            f"{describe_request_error(error)}."
        ) from None
    with response:
        expected_total = _start_body(response, partial, settings, label, url)
        if bar is not None:
            bar.reset(total=expected_total)
            bar.update(partial.written)
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                partial.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                on_progress()
        except requests.RequestException as error:
            raise _BodyInterrupted(describe_request_error(error)) from None
    if expected_total is not None and partial.written != expected_total:
        raise _BodyInterrupted(f"got {partial.written} of {expected_total} bytes")


def _start_body(
    response: requests.Response, partial: _PartialFile, settings: HttpSettings, label: str, url: str
) -> int | None:
    """Check the status, line the partial file up with the body about to arrive; the expected total size."""
    status = response.status_code
    if status == 416 and partial.written:
        partial.restart(resumable=False)
        raise _BodyInterrupted("the server refused to resume the download")
    if status not in (200, 206):
        if status in settings.retry_statuses or status >= 500:
            problem = f"the server kept answering HTTP {status} ({settings.tries} tries)"
        else:
            problem = f"the server answered HTTP {status}"
        raise DownloadError(f"Downloading {label} from {describe_url(url)} failed: {problem}.")
    if status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match is None or int(match.group(1)) != partial.written:
            partial.restart(resumable=False)
            raise _BodyInterrupted("the server resumed at the wrong offset")
    elif partial.written:
        partial.restart(resumable=partial.resumable)
    partial.resumable = response.headers.get("Accept-Ranges", "").strip().lower() == "bytes" or status == 206
    length = response.headers.get("Content-Length")
    if (
        length is None
        or not length.strip().isdigit()
        or response.headers.get("Content-Encoding", "identity") != "identity"
    ):
        return None
    return partial.written + int(length)


class _PartialFile:
    """The temporary file being written, with running hashes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in finish() / discard()
        self.resumable = False
        self.restart(resumable=False)

    def restart(self, *, resumable: bool) -> None:
        self._handle.seek(0)
        self._handle.truncate()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.written = 0
        self.resumable = resumable

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._md5.update(chunk)
        self._sha256.update(chunk)
        self.written += len(chunk)

    def finish(self) -> tuple[str, str, int]:
        """Flush and fsync; the MD5, SHA-256 and size of what was written."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        return self._md5.hexdigest(), self._sha256.hexdigest(), self.written

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        self.path.unlink(missing_ok=True)


def _progress_bar(label: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(desc=label, unit="B", unit_scale=True, unit_divisor=1024, leave=False, file=sys.stderr)
