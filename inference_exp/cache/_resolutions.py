"""The auto-resolution cache: which package an identical request, on this machine, with this key, chose.

Entries live in ``resolutions/<key>.json`` and expire after ``AUTO_LOADER_CACHE_EXPIRATION_MINUTES``
(default 1440). The API key never reaches the disk: the key of an entry includes an HMAC of it, keyed by a
random secret created in the cache root (``credential-key``, readable by its owner only), so the hash can
neither be reversed with a dictionary nor matched against another machine's cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inference_exp.cache._fs import WRITE_TEMP_OWNER, atomic_write_json, read_json_object, temp_path
from inference_exp.cache._layout import FORMAT_VERSION, CacheLayout
from inference_exp.errors import InvalidParameterError
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.settings import env_float
from inference_exp.utils.logging import get_logger

CREDENTIAL_KEY_BYTES = 32
CLOCK_SKEW_TOLERANCE_SECONDS = 60.0

logger = get_logger("cache")
# Used when the cache root is read-only and has no credential key yet: entries then never match.
_ephemeral_keys: dict[Path, bytes] = {}


@dataclass(frozen=True)
class ResolutionEntry:
    """A remembered decision.

    Attributes:
        model_id: the model whose package was chosen (the canonical id the package is cached under).
        package_id: the chosen package.
        details: anything else the loader wants back on a hit (JSON-serialisable), e.g. architecture,
            task and backend.
        created_at: when the entry was stored (seconds since the epoch); set by ``store_resolution``.
        package_dir: the package directory, filled in by ``lookup_resolution``.
    """

    model_id: str
    package_id: str
    details: Mapping[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    package_dir: Path | None = field(default=None, compare=False)


def resolution_key(
    layout: CacheLayout,
    request: Mapping[str, Any],
    *,
    environment: RuntimeEnvironment | str,
    api_key: str | None,
) -> str:
    fingerprint = environment if isinstance(environment, str) else environment.fingerprint()
    credential = (
        "anonymous"
        if not api_key
        else hmac.new(_credential_key(layout), api_key.encode(), "sha256").hexdigest()
    )
    payload = {
        "format": FORMAT_VERSION,
        "request": dict(request),
        "environment": fingerprint,
        "credential": credential,
    }
    try:
        encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"The resolution request cannot be serialised: {error}.") from None
    return hashlib.sha256(encoded).hexdigest()


def lookup(
    layout: CacheLayout, key: str, find_package_dir: Callable[[str, str], Path | None]
) -> ResolutionEntry | None:
    path = layout.resolution(key)
    if not path.exists():
        return None
    entry = _parse(read_json_object(path))
    if entry is None or entry.created_at is None:
        logger.debug("Dropping the unreadable resolution entry %s.", path.name)
        invalidate(layout, key)
        return None
    age = time.time() - entry.created_at
    ttl = env_float("AUTO_LOADER_CACHE_EXPIRATION_MINUTES", 1440.0, minimum=0.0) * 60
    if age > ttl or age < -CLOCK_SKEW_TOLERANCE_SECONDS:
        invalidate(layout, key)
        return None
    package_dir = find_package_dir(entry.model_id, entry.package_id)
    if package_dir is None:
        invalidate(layout, key)
        return None
    return replace(entry, package_dir=package_dir)


def store(layout: CacheLayout, key: str, entry: ResolutionEntry) -> None:
    path = layout.resolution(key)
    document = {
        "format": FORMAT_VERSION,
        "model_id": entry.model_id,
        "package_id": entry.package_id,
        "details": dict(entry.details),
        "created_at": time.time(),
    }
    try:
        json.dumps(document)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"Resolution entry details must be JSON-serialisable: {error}.") from None
    try:
        atomic_write_json(path, document, layout.temp_dir)
    except OSError as error:
        logger.warning("Could not record the resolution in the cache: %s", error)


def invalidate(layout: CacheLayout, key: str) -> None:
    with contextlib.suppress(OSError):
        layout.resolution(key).unlink(missing_ok=True)


def entry_model_id(path: Path) -> str | None:
    """The model id a stored entry points at (``None`` when unreadable)."""
    entry = _parse(read_json_object(path))
    return entry.model_id if entry is not None else None


def _parse(document: Mapping[str, Any] | None) -> ResolutionEntry | None:
    if document is None or document.get("format") != FORMAT_VERSION:
        return None
    model_id, package_id = document.get("model_id"), document.get("package_id")
    details, created_at = document.get("details", {}), document.get("created_at")
    if not (isinstance(model_id, str) and isinstance(package_id, str) and isinstance(details, dict)):
        return None
    if not isinstance(created_at, (int, float)):
        return None
    return ResolutionEntry(model_id, package_id, details, float(created_at))


def _credential_key(layout: CacheLayout) -> bytes:
    """The cache's secret HMAC key, created on first use (owner-only permissions)."""
    path = layout.credential_key_file
    key = _read_key(path)
    if key is not None:
        return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = temp_path(layout.temp_dir, WRITE_TEMP_OWNER, "tmp")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(CREDENTIAL_KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(candidate, path)  # atomic, and never overwrites the key of a concurrent creator
        except FileExistsError:
            pass
        except OSError:  # no hard links on this file system
            if not path.exists():
                os.replace(candidate, path)
        finally:
            candidate.unlink(missing_ok=True)
    except OSError as error:
        logger.debug(
            "Cannot create the credential key in %s (%s); resolutions will not be reused.", path, error
        )
    key = _read_key(path)
    if key is None:
        key = _ephemeral_keys.setdefault(layout.root, secrets.token_bytes(CREDENTIAL_KEY_BYTES))
    return key


def _read_key(path: Path) -> bytes | None:
    try:
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == CREDENTIAL_KEY_BYTES else None
