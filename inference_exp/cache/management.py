"""Inspecting and cleaning the cache: list, verify, remove, prune (the ``inference-exp cache`` CLI wraps these).

Byte counts are those of regular files actually freed: a file still reachable through another hard link,
a symlink and a directory count zero.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from inference_exp.cache._fs import WRITE_TEMP_OWNER, read_json_object, remove_tree_counted, unlink_counted
from inference_exp.cache._layout import (
    CacheLayout,
    blob_lock_name,
    check_hex,
    file_path,
    lock_name_of_temp,
    package_lock_name,
)
from inference_exp.cache._locks import CacheLock, lock_timeout_from_env
from inference_exp.cache._records import BlobRecord, PackageFileRecord, PackageRecord, parse_timestamp
from inference_exp.cache._resolutions import entry_model_id
from inference_exp.cache.store import ModelCache
from inference_exp.errors import InsecureModelIdentifierError
from inference_exp.packages.file_handles import check_package_id

# Atomic JSON writes take milliseconds; a temporary of theirs this old belongs to a crashed process.
STALE_WRITE_SECONDS = 600.0
_HASH_CHUNK_BYTES = 1024 * 1024

FileStatus = Literal["ok", "missing", "corrupted"]


@dataclass(frozen=True)
class CachedPackage:
    """One complete package directory.

    Attributes:
        package_id: the package.
        path: the directory handed to loaders.
        file_count: number of files.
        size_bytes: total size of its files.
        materialized_at: when it was assembled.
        last_used_at: when it was last materialised or looked up.
    """

    package_id: str
    path: Path
    file_count: int
    size_bytes: int
    materialized_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class CachedModel:
    """One model in the cache.

    Attributes:
        model_id: the model id, as recorded in the model directory.
        path: the model directory.
        packages: its package directories.
        size_bytes: bytes of the distinct blobs its packages use (blobs shared with other models included).
        last_used_at: latest use of any of its packages.
        has_metadata: whether provider metadata is recorded (needed to negotiate offline).
    """

    model_id: str
    path: Path
    packages: tuple[CachedPackage, ...]
    size_bytes: int
    last_used_at: datetime | None
    has_metadata: bool


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one file of a package (``package.json`` itself when the record is unreadable)."""

    model_id: str
    package_id: str
    file_handle: str
    status: FileStatus
    path: Path


@dataclass(frozen=True)
class VerificationReport:
    """Every file checked by :func:`verify`."""

    checks: tuple[FileCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.status == "ok" for check in self.checks)

    @property
    def problems(self) -> tuple[FileCheck, ...]:
        return tuple(check for check in self.checks if check.status != "ok")


def list_models(cache: ModelCache | None = None) -> list[CachedModel]:
    """Every model directory in the cache, with its packages, sizes and last use."""
    layout = (cache or ModelCache()).layout
    models = []
    for model_dir in _model_dirs(layout):
        model_id = _recorded_model_id(model_dir)
        if model_id is None:
            continue
        packages, blob_sizes = [], {}
        for package_dir in _package_dirs(model_dir):
            record = PackageRecord.from_json(read_json_object(package_dir / "package.json"))
            if record is None:
                continue
            blob_sizes.update({file.sha256: file.size for file in record.files})
            packages.append(
                CachedPackage(
                    package_id=record.package_id,
                    path=package_dir / "files",
                    file_count=len(record.files),
                    size_bytes=record.size,
                    materialized_at=parse_timestamp(record.materialized_at),
                    last_used_at=_modified_at(package_dir / "package.json"),
                )
            )
        uses = [package.last_used_at for package in packages if package.last_used_at is not None]
        models.append(
            CachedModel(
                model_id=model_id,
                path=model_dir,
                packages=tuple(packages),
                size_bytes=sum(blob_sizes.values()),
                last_used_at=max(uses, default=None),
                has_metadata=(model_dir / "metadata.json").is_file(),
            )
        )
    return models


def verify(model_id: str | None = None, cache: ModelCache | None = None) -> VerificationReport:
    """Re-hash every file of every cached package (or of one model's packages) against its recorded SHA-256.

    A file is ``missing`` when its entry or the blob it links to is gone, ``corrupted`` when its content
    differs from what was verified at download time. A blob shared by several packages is hashed once.
    """
    layout = (cache or ModelCache()).layout
    model_dirs = [layout.model_dir(model_id)] if model_id is not None else _model_dirs(layout)
    digests: dict[str, str | None] = {}
    checks = []
    for model_dir in model_dirs:
        owner = _recorded_model_id(model_dir) or model_id or model_dir.name
        for package_dir in _package_dirs(model_dir):
            record_path = package_dir / "package.json"
            record = PackageRecord.from_json(read_json_object(record_path))
            if record is None:
                checks.append(FileCheck(owner, package_dir.name, "package.json", "corrupted", record_path))
                continue
            for file in record.files:
                status = _check(package_dir / "files", file, digests)
                path = package_dir / "files" / file.file_handle
                checks.append(FileCheck(owner, record.package_id, file.file_handle, status, path))
    return VerificationReport(tuple(checks))


def remove_model(model_id: str, cache: ModelCache | None = None, *, lock_timeout: float | None = None) -> int:
    """Delete a model's directory, the blobs no other package uses and its remembered resolutions.

    Waits for a package of the model that is being materialised right now (see ``lock_timeout`` of
    :meth:`ModelCache.materialize_package`). Returns the number of bytes freed (0 when it was not cached).
    Only the directory of exactly ``model_id`` goes: packages cached under a canonical id stay when an
    alias is removed.
    """
    layout = (cache or ModelCache()).layout
    model_dir = layout.model_dir(model_id)
    if not model_dir.exists():
        return 0
    stall_timeout = lock_timeout_from_env() if lock_timeout is None else lock_timeout
    freed, used_blobs = 0, set()
    for package_dir in _package_dirs(model_dir):
        try:
            check_package_id(package_dir.name)
        except InsecureModelIdentifierError:
            freed += remove_tree_counted(package_dir)
            continue
        lock_path = layout.lock(package_lock_name(model_id, package_dir.name))
        with CacheLock(lock_path, what=f"package {package_dir.name} of model {model_id!r}").held(
            stall_timeout
        ):
            record = PackageRecord.from_json(read_json_object(package_dir / "package.json"))
            used_blobs |= {file.sha256 for file in record.files} if record is not None else set()
            used_blobs |= _symlinked_blobs(package_dir)
            freed += remove_tree_counted(package_dir)
    freed += remove_tree_counted(model_dir)
    freed += _delete_unreferenced_blobs(layout, used_blobs)
    if layout.resolutions_dir.is_dir():
        for entry in layout.resolutions_dir.glob("*.json"):
            if entry_model_id(entry) == model_id:
                freed += unlink_counted(entry)
    return freed


def prune(cache: ModelCache | None = None) -> int:
    """Delete what nothing needs: blobs no package links to, their index records, temporary files of
    crashed processes and lock files nobody holds. Returns the number of bytes freed.

    Safe while other processes use the cache: anything locked (being downloaded, linked or assembled) is
    left alone.
    """
    layout = (cache or ModelCache()).layout
    freed = _remove_stale_temps(layout)
    if layout.blobs_dir.is_dir():
        blobs = [entry.name for entry in layout.blobs_dir.iterdir() if _is_hex(entry.name, 64)]
        freed += _delete_unreferenced_blobs(layout, blobs)
    freed += _remove_orphan_records(layout)
    freed += _remove_unheld_locks(layout)
    return freed


# --- helpers -----------------------------------------------------------------------------------------------


def _model_dirs(layout: CacheLayout) -> list[Path]:
    if not layout.models_dir.is_dir():
        return []
    return sorted(entry for entry in layout.models_dir.iterdir() if entry.is_dir() and not entry.is_symlink())


def _package_dirs(model_dir: Path) -> list[Path]:
    packages_dir = model_dir / "packages"
    if not packages_dir.is_dir():
        return []
    return sorted(entry for entry in packages_dir.iterdir() if entry.is_dir() and not entry.is_symlink())


def _recorded_model_id(model_dir: Path) -> str | None:
    record = read_json_object(model_dir / "model.json")
    model_id = record.get("model_id") if record is not None else None
    return model_id if isinstance(model_id, str) else None


def _modified_at(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError:
        return None


def _check(files_dir: Path, file: PackageFileRecord, digests: dict[str, str | None]) -> FileStatus:
    try:
        path = file_path(files_dir, file.file_handle)
    except InsecureModelIdentifierError:
        return "corrupted"  # a directory inside the package was replaced by a link leading elsewhere
    real = os.path.realpath(path)
    if real not in digests:
        digests[real] = _sha256_of(path)
    digest = digests[real]
    if digest is None:
        return "missing"
    return "ok" if digest == file.sha256 else "corrupted"


def _sha256_of(path: Path) -> str | None:
    hasher = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK_BYTES):
                hasher.update(chunk)
    except OSError:
        return None
    return hasher.hexdigest()


def _is_hex(name: str, length: int) -> bool:
    try:
        check_hex(name, length, "name")
    except InsecureModelIdentifierError:
        return False
    return True


def _symlinked_blobs(directory: Path) -> set[str]:
    """Names of the blobs that symlinks anywhere under ``directory`` point at."""
    found = set()
    for current, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            entry = os.path.join(current, name)
            if os.path.islink(entry):
                target = os.path.basename(os.readlink(entry))
                if _is_hex(target, 64):
                    found.add(target)
    return found


def _referenced_blobs(layout: CacheLayout) -> set[str]:
    """Every blob a package uses, finished or being assembled.

    Assemblies are scanned before finished packages: one that finishes meanwhile is renamed into
    ``models/`` before that scan starts, so it cannot be missed by both.
    """
    referenced = set()
    if layout.temp_dir.is_dir():
        for assembly in layout.temp_dir.glob("*.pkg"):
            referenced |= _symlinked_blobs(assembly)
    for model_dir in _model_dirs(layout):
        for package_dir in _package_dirs(model_dir):
            record = PackageRecord.from_json(read_json_object(package_dir / "package.json"))
            if record is not None:
                referenced |= {file.sha256 for file in record.files}
            referenced |= _symlinked_blobs(package_dir)
    return referenced


def _delete_unreferenced_blobs(layout: CacheLayout, candidates: Iterable[str]) -> int:
    """Delete the candidate blobs (and their index records) that no package uses and nobody has locked."""
    held: list[tuple[str, CacheLock]] = []
    try:
        for sha256 in sorted(set(candidates)):
            lock = CacheLock(layout.lock(blob_lock_name(sha256)), what=f"blob {sha256[:12]}")
            if lock.try_acquire():
                held.append((sha256, lock))
        if not held:
            return 0
        referenced = _referenced_blobs(layout)
        records = _md5_records_by_blob(layout)
        freed = 0
        for sha256, _ in held:
            if sha256 not in referenced:
                freed += sum(unlink_counted(record) for record in records.get(sha256, []))
                freed += unlink_counted(layout.blob(sha256))
        return freed
    finally:
        for _, lock in held:
            lock.release()


def _md5_records_by_blob(layout: CacheLayout) -> dict[str, list[Path]]:
    by_blob: dict[str, list[Path]] = {}
    if layout.md5_index_dir.is_dir():
        for path in layout.md5_index_dir.glob("*.json"):
            record = BlobRecord.from_json(read_json_object(path))
            if record is not None:
                by_blob.setdefault(record.sha256, []).append(path)
    return by_blob


def _remove_orphan_records(layout: CacheLayout) -> int:
    """Delete unreadable index records and those whose blob is gone (a crash between record and blob)."""
    freed = 0
    if not layout.md5_index_dir.is_dir():
        return 0
    for path in layout.md5_index_dir.glob("*.json"):
        record = BlobRecord.from_json(read_json_object(path))
        if record is None:
            freed += unlink_counted(path)
            continue
        lock = CacheLock(layout.lock(blob_lock_name(record.sha256)), what=f"blob {record.sha256[:12]}")
        if lock.try_acquire():
            try:
                if not layout.blob(record.sha256).exists():
                    freed += unlink_counted(path)
            finally:
                lock.release()
    return freed


def _remove_stale_temps(layout: CacheLayout) -> int:
    """Delete temporaries whose guarding lock is free (their writer died) or, for unlocked writes, old ones."""
    freed = 0
    if not layout.temp_dir.is_dir():
        return 0
    for entry in layout.temp_dir.iterdir():
        owner = lock_name_of_temp(entry.name)
        try:
            lock = CacheLock(layout.lock(owner), what=entry.name) if owner != WRITE_TEMP_OWNER else None
        except InsecureModelIdentifierError:
            lock = None
        if lock is None:
            if _age_seconds(entry) > STALE_WRITE_SECONDS:
                freed += remove_tree_counted(entry)
        elif lock.try_acquire():
            try:
                freed += remove_tree_counted(entry)
            finally:
                lock.release()
    return freed


def _remove_unheld_locks(layout: CacheLayout) -> int:
    freed = 0
    if not layout.locks_dir.is_dir():
        return 0
    for path in layout.locks_dir.glob("*.lock"):
        lock = CacheLock(path, what=path.name)
        if lock.try_acquire():
            try:
                freed += unlink_counted(path)
            finally:
                lock.release()
    return freed


def _age_seconds(path: Path) -> float:
    try:
        return time.time() - path.lstat().st_mtime
    except OSError:
        return 0.0
