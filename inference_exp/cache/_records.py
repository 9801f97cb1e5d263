"""The JSON records the cache keeps beside the files: what a blob is, what a package directory holds.

Records are written atomically and parsed defensively: a record that does not parse is treated as absent
(the package is materialised again, the blob downloaded again), never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from inference_exp.cache._layout import FORMAT_VERSION, check_hex
from inference_exp.errors import InsecureModelIdentifierError
from inference_exp.packages.file_handles import check_file_handle, check_package_id
from inference_exp.packages.manifests import ModelPackage

LinkKind = Literal["symlink", "hardlink", "copy"]
_LINK_KINDS = ("symlink", "hardlink", "copy")


def utc_now() -> str:
    """The current time as an ISO-8601 UTC timestamp."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 timestamp written by :func:`utc_now`; ``None`` when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class BlobRecord:
    """``index/md5/<md5>.json``: a blob whose content was verified against a declared MD5.

    Written *before* the blob is renamed into ``blobs/``, so every blob of a hashed file has a record; a
    record whose blob is missing (a crash in between) simply means "not cached".
    """

    md5: str
    sha256: str
    size: int
    stored_at: str

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, document: Mapping[str, Any] | None) -> BlobRecord | None:
        try:
            if document is None or document.get("format") != FORMAT_VERSION:
                return None
            size = document["size"]
            if not isinstance(size, int) or size < 0:
                return None
            return cls(
                md5=check_hex(document["md5"], 32, "MD5"),
                sha256=check_hex(document["sha256"], 64, "SHA-256"),
                size=size,
                stored_at=str(document.get("stored_at", "")),
            )
        except (KeyError, TypeError, InsecureModelIdentifierError):
            return None


@dataclass(frozen=True)
class PackageFileRecord:
    """One file of a materialised package.

    Attributes:
        file_handle: the file's name inside the package directory.
        md5: the MD5 the provider declared (``None`` for a file downloaded without one).
        sha256: the SHA-256 of the content, computed by this library; names the blob.
        size: content length in bytes.
        link: how the package directory points at the blob.
    """

    file_handle: str
    md5: str | None
    sha256: str
    size: int
    link: LinkKind


@dataclass(frozen=True)
class PackageRecord:
    """``models/<slug>/packages/<package id>/package.json``: a complete package directory's contents."""

    model_id: str
    package_id: str
    materialized_at: str
    files: tuple[PackageFileRecord, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "model_id": self.model_id,
            "package_id": self.package_id,
            "materialized_at": self.materialized_at,
            "files": [asdict(file) for file in self.files],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any] | None) -> PackageRecord | None:
        try:
            if document is None or document.get("format") != FORMAT_VERSION:
                return None
            package_id = document["package_id"]
            check_package_id(package_id)
            files = tuple(_parse_file(raw) for raw in document["files"])
            model_id = document["model_id"]
            if not isinstance(model_id, str):
                return None
            return cls(model_id, package_id, str(document.get("materialized_at", "")), files)
        except (KeyError, TypeError, ValueError, InsecureModelIdentifierError):
            return None

    def matches(self, package: ModelPackage) -> bool:
        """Whether this directory holds exactly the files (names and declared MD5s) ``package`` lists."""
        recorded = {(file.file_handle, file.md5) for file in self.files}
        wanted = {(file.file_handle, file.md5_hash) for file in package.files}
        return self.package_id == package.package_id and recorded == wanted

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)


def _parse_file(raw: Mapping[str, Any]) -> PackageFileRecord:
    check_file_handle(raw["file_handle"])
    md5 = raw["md5"]
    size = raw["size"]
    if not isinstance(size, int) or size < 0 or raw["link"] not in _LINK_KINDS:
        raise ValueError("malformed file record")
    return PackageFileRecord(
        file_handle=raw["file_handle"],
        md5=None if md5 is None else check_hex(md5, 32, "MD5"),
        sha256=check_hex(raw["sha256"], 64, "SHA-256"),
        size=size,
        link=raw["link"],
    )
