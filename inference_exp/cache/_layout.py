"""Where everything lives inside the cache root (the tree is drawn in the package docstring).

Every path is built here, from checked names only: model ids become slugs, package ids and file handles
are re-checked with :mod:`inference_exp.packages.file_handles`, hashes and keys must be lower-case hex, and
a file handle's path is confirmed to stay inside its package directory.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from inference_exp.cache._fs import is_inside
from inference_exp.errors import InsecureModelIdentifierError
from inference_exp.packages.file_handles import check_file_handle, check_package_id

FORMAT_VERSION = 1
SLUG_PREFIX_LENGTH = 48
SLUG_DIGEST_BYTES = 16
_NOT_SLUG_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]+")
_SEPARATOR_RUNS = re.compile(r"[_-]{2,}")
_HEX = {32: re.compile(r"[0-9a-f]{32}"), 64: re.compile(r"[0-9a-f]{64}")}
_LOCK_NAME = re.compile(r"[a-z]+-[0-9a-f]{32,64}")


def model_slug(model_id: str) -> str:
    """The directory name of a model: a readable prefix and a 128-bit digest of the exact id.

    ``acme-parts/4`` → ``acme-parts-4-<32 hex>``. Ids that differ only in characters the prefix drops, or
    beyond its first 48 characters, still get different directories.
    """
    if not isinstance(model_id, str) or not model_id:
        raise InsecureModelIdentifierError(f"Model id {model_id!r} must be a non-empty string.")
    prefix = _SEPARATOR_RUNS.sub("-", _NOT_SLUG_CHARACTERS.sub("-", model_id))
    prefix = prefix[:SLUG_PREFIX_LENGTH].strip("-_") or "model"
    digest = hashlib.blake2s(
        model_id.encode("utf-8", "surrogatepass"), digest_size=SLUG_DIGEST_BYTES
    ).hexdigest()
    return f"{prefix}-{digest}"


def short_digest(*parts: str) -> str:
    """A 128-bit hex digest of several strings (unambiguous: each part is length-prefixed)."""
    hasher = hashlib.blake2s(digest_size=16)
    for part in parts:
        encoded = part.encode("utf-8", "surrogatepass")
        hasher.update(len(encoded).to_bytes(8, "big") + encoded)
    return hasher.hexdigest()


def check_hex(value: str, length: int, what: str) -> str:
    """``value`` if it is ``length`` lower-case hex digits, else :class:`InsecureModelIdentifierError`."""
    if not isinstance(value, str) or not _HEX[length].fullmatch(value):
        raise InsecureModelIdentifierError(f"{what} {value!r} is not {length} lower-case hexadecimal digits.")
    return value


@dataclass(frozen=True)
class CacheLayout:
    """The paths of one cache root."""

    root: Path

    @property
    def blobs_dir(self) -> Path:
        return self.root / "blobs"

    @property
    def md5_index_dir(self) -> Path:
        return self.root / "index" / "md5"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def resolutions_dir(self) -> Path:
        return self.root / "resolutions"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    @property
    def temp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def credential_key_file(self) -> Path:
        return self.root / "credential-key"

    def blob(self, sha256: str) -> Path:
        return self.blobs_dir / check_hex(sha256, 64, "Blob SHA-256")

    def md5_record(self, md5: str) -> Path:
        return self.md5_index_dir / f"{check_hex(md5, 32, 'MD5')}.json"

    def model_dir(self, model_id: str) -> Path:
        return self.models_dir / model_slug(model_id)

    def model_record(self, model_id: str) -> Path:
        return self.model_dir(model_id) / "model.json"

    def metadata_file(self, model_id: str) -> Path:
        return self.model_dir(model_id) / "metadata.json"

    def packages_dir(self, model_id: str) -> Path:
        return self.model_dir(model_id) / "packages"

    def package_dir(self, model_id: str, package_id: str) -> Path:
        check_package_id(package_id)
        return self.packages_dir(model_id) / package_id

    def package_record(self, model_id: str, package_id: str) -> Path:
        return self.package_dir(model_id, package_id) / "package.json"

    def package_files_dir(self, model_id: str, package_id: str) -> Path:
        """The directory handed to model loaders: one entry per file handle."""
        return self.package_dir(model_id, package_id) / "files"

    def resolution(self, key: str) -> Path:
        return self.resolutions_dir / f"{check_hex(key, 64, 'Resolution key')}.json"

    def lock(self, name: str) -> Path:
        if not _LOCK_NAME.fullmatch(name):
            raise InsecureModelIdentifierError(f"Lock name {name!r} is malformed.")
        return self.locks_dir / f"{name}.lock"


def file_path(files_dir: Path, file_handle: str) -> Path:
    """The path of ``file_handle`` inside ``files_dir``, refusing any handle that could leave it."""
    check_file_handle(file_handle)
    path = files_dir.joinpath(*file_handle.split("/"))
    if not is_inside(path, files_dir):
        raise InsecureModelIdentifierError(
            f"File handle {file_handle!r} resolves outside its package directory."
        )
    return path


def package_lock_name(model_id: str, package_id: str) -> str:
    return f"package-{short_digest(model_id, package_id)}"


def fetch_lock_name(md5: str) -> str:
    """The lock of downloading a hashed file: one download per MD5 across every model and package."""
    return f"fetch-{check_hex(md5, 32, 'MD5')}"


def unhashed_fetch_lock_name(model_id: str, package_id: str, file_handle: str) -> str:
    """The lock of downloading a file that has no declared MD5 (identified by where it belongs)."""
    return f"fetchfile-{short_digest(model_id, package_id, file_handle)}"


def blob_lock_name(sha256: str) -> str:
    """The lock of publishing, linking or deleting one blob."""
    return f"blob-{check_hex(sha256, 64, 'Blob SHA-256')}"


def lock_name_of_temp(temp_name: str) -> str:
    """The lock that guards a temporary entry named ``<lock name>.<random>.<suffix>``."""
    return temp_name.split(".", 1)[0]
