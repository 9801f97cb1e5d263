"""Checks that keep package identifiers and file names inside the cache.

A package's file handles and id become paths on disk; a hostile or malformed one (``../x``, ``/etc/passwd``,
``a\\b``, ``CON``) must never reach the file system. These checks run when metadata is parsed and again
where paths are built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from inference_exp.errors import InsecureModelIdentifierError

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_PACKAGE_ID = re.compile(r"[A-Za-z0-9]+")
_LOCK_FILE = re.compile(r"\..+\.lock")
_MAX_NAME = 255
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
# Names the library writes itself inside a package directory.
RESERVED_TOP_LEVEL_NAMES = frozenset({"model_config.json", "model_dependencies", "dependencies"})


def check_file_handle(handle: str) -> None:
    """Raise :class:`InsecureModelIdentifierError` unless ``handle`` is a safe relative file name.

    Safe: ``/``-separated segments of ``[A-Za-z0-9._-]``, none empty, ``.`` or ``..``, none longer than 255
    characters, ending in a dot or naming a Windows device or a lock file, and not starting with a name
    the library writes itself (``model_config.json``).
    """
    if not isinstance(handle, str) or not handle:
        raise InsecureModelIdentifierError(f"File handle {handle!r} is empty or not a string.")
    if "\x00" in handle or "\\" in handle or handle.startswith("/") or handle.endswith("/"):
        raise InsecureModelIdentifierError(f"File handle {handle!r} is not a relative '/'-separated path.")
    segments = handle.split("/")
    for segment in segments:
        _check_segment(handle, segment)
    if segments[0].lower() in RESERVED_TOP_LEVEL_NAMES:
        raise InsecureModelIdentifierError(f"File handle {handle!r} would overwrite a file the library writes itself.")


def _check_segment(handle: str, segment: str) -> None:
    if segment in ("", ".", ".."):
        raise InsecureModelIdentifierError(f"File handle {handle!r} has an empty, '.' or '..' segment.")
    if len(segment) > _MAX_NAME or not _SEGMENT.fullmatch(segment):
        raise InsecureModelIdentifierError(
            f"File handle {handle!r}: segment {segment!r} must be 1-255 characters of A-Z, a-z, 0-9, '.', '_', '-'."
        )
    if segment.endswith("."):
        raise InsecureModelIdentifierError(f"File handle {handle!r}: segment {segment!r} ends with a dot.")
    if segment.split(".")[0].lower() in _WINDOWS_DEVICES:
        raise InsecureModelIdentifierError(f"File handle {handle!r}: segment {segment!r} is a reserved device name.")
    if _LOCK_FILE.fullmatch(segment):
        raise InsecureModelIdentifierError(f"File handle {handle!r}: segment {segment!r} looks like a lock file.")


def check_file_handles(handles: Iterable[str]) -> None:
    """Check every handle and that no two collide (same name up to case, or a file that is also a folder)."""
    seen: set[str] = set()
    handles = list(handles)
    for handle in handles:
        check_file_handle(handle)
        key = handle.lower()
        if key in seen:
            raise InsecureModelIdentifierError(f"File handle {handle!r} appears twice (names are compared ignoring case).")
        seen.add(key)
    for handle in seen:
        parts = handle.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in seen:
                raise InsecureModelIdentifierError(
                    f"File handle {handle!r} is inside {'/'.join(parts[:depth])!r}, which is also a file."
                )


def check_package_id(package_id: str) -> None:
    """Raise :class:`InsecureModelIdentifierError` unless ``package_id`` is 1-255 letters and digits."""
    if (
        not isinstance(package_id, str)
        or len(package_id) > _MAX_NAME
        or not _PACKAGE_ID.fullmatch(package_id)
        or package_id.lower() in _WINDOWS_DEVICES
    ):
        raise InsecureModelIdentifierError(f"Package id {package_id!r} must be 1-255 letters and digits.")
