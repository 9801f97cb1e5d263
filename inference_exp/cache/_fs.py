"""File-system primitives of the cache: durable atomic writes, safe reads, counted deletions."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any

WRITE_TEMP_OWNER = "write"


def fsync_directory(directory: Path) -> None:
    """Make a rename or creation inside ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path(temp_dir: Path, owner: str, suffix: str) -> Path:
    """A fresh path ``<temp_dir>/<owner>.<random>.<suffix>``; ``owner`` names the lock that guards it."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    return temp_dir / f"{owner}.{uuid.uuid4().hex}.{suffix}"


def atomic_write_bytes(path: Path, data: bytes, temp_dir: Path, owner: str = WRITE_TEMP_OWNER) -> None:
    """Write ``data`` to ``path`` so that readers see the old content or the new one, never a mix.

    The bytes go to a temporary file on the same file system, which is flushed, fsynced and renamed over
    ``path``; the directory is fsynced so that the rename survives a crash. ``owner`` is the lock the
    caller holds (its name tags the temporary file so that a crashed writer's leftover can be recognised);
    the default marks an unlocked write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temp_path(temp_dir, owner, "tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def atomic_write_json(path: Path, document: Any, temp_dir: Path, owner: str = WRITE_TEMP_OWNER) -> None:
    """:func:`atomic_write_bytes` of ``document`` as indented JSON."""
    atomic_write_bytes(path, json.dumps(document, indent=2, sort_keys=True).encode(), temp_dir, owner)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object stored at ``path``; ``None`` when it is missing, unreadable or not an object."""
    try:
        with open(path, "rb") as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def make_read_only(path: Path) -> None:
    """Drop write permission from a file (a verified blob must not be edited through a package link)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def unlink_counted(path: Path) -> int:
    """Delete one file or link; the bytes this frees (its size when it was the last link to a regular file)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return 0
    regular = stat.S_ISREG(info.st_mode)
    freed = info.st_size if regular and info.st_nlink == 1 else 0
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    except PermissionError:
        if not regular:
            raise
        # Windows refuses to delete read-only files (blobs are read-only): make it writable, try once more.
        path.chmod(stat.S_IWUSR | stat.S_IRUSR)
        path.unlink()
    return freed


def remove_tree_counted(path: Path) -> int:
    """Delete a file or a directory tree (links are removed, never followed); the bytes freed."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return 0
    if not stat.S_ISDIR(info.st_mode):
        return unlink_counted(path)
    freed = sum(remove_tree_counted(entry) for entry in list(path.iterdir()))
    with contextlib.suppress(FileNotFoundError):
        path.rmdir()
    return freed


def is_inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` (not following a final link) lies inside ``directory``, both taken as real paths."""
    real_parent = Path(os.path.realpath(path.parent))
    real_directory = Path(os.path.realpath(directory))
    return real_parent == real_directory or real_directory in real_parent.parents
