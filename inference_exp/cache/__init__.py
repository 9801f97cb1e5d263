"""The local model cache: verified package directories, shared safely by concurrent processes.

Layout of the cache root (``INFERENCE_HOME``, see :func:`inference_exp.settings.cache_root`)::

    <root>/
    ├── blobs/<sha256>                       file contents, verified, read-only, named by their SHA-256
    ├── index/md5/<md5>.json                 declared MD5 → blob (sha256, size); written before the blob appears
    ├── models/<slug>/                       one per model id: <readable prefix>-<128-bit blake2s of the id>
    │   ├── model.json                       {"model_id": ...}: which id owns the directory
    │   ├── metadata.json                    the provider's last answer (offline negotiation reads it)
    │   └── packages/<package id>/
    │       ├── package.json                 files: handle, declared MD5, SHA-256, size, link kind
    │       └── files/                       the package directory loaders get: <file handle> → ../…/blobs/<sha256>
    ├── resolutions/<key>.json               auto-resolution cache: request → chosen package (with TTL)
    ├── credential-key                       random secret that keys the API-key hash of resolution keys
    ├── locks/<name>.lock                    fetch-<md5>, fetchfile-<digest>, blob-<sha256>, package-<digest>
    └── tmp/<lock name>.<random>.{part,pkg,old,tmp}   downloads, package assemblies and writes in flight

Guarantees:

* **Nothing unverified is served.** A file is streamed into ``tmp/`` (same file system), its MD5 checked
  against the declared one and its SHA-256 computed on the way, fsynced, then renamed into ``blobs/`` (and
  the directory fsynced). A failed or interrupted download leaves nothing behind; a process killed mid-way
  leaves only a temporary file, removed by the next holder of its lock or by :func:`management.prune`.
* **Package directories appear whole.** A package is assembled in ``tmp/`` (links + ``package.json``) and
  renamed into ``models/`` in one step; a reader sees the complete directory or none. Package entries are
  relative symlinks (hard links, then copies, where symlinks are unavailable).
* **One download per blob.** A per-MD5 file lock, re-checked after acquiring, makes concurrent processes
  download each file once; the others wait as long as the holder makes progress (``CACHE_LOCK_TIMEOUT``
  is the tolerated time *without* progress, default 300 s) and then reuse the blob.
* **Paths stay inside the cache.** Model ids are hashed into slugs; package ids, file handles, hashes and
  keys are re-checked where paths are built; only http(s) URLs are downloaded. Files without a declared
  MD5 are refused unless ``download_files_without_hash=True``.
* **JSON records are written atomically** (temporary file, fsync, replace, directory fsync).

Offline mode (``OFFLINE_MODE=true``): no lock is taken and nothing is downloaded; a package that is not
completely cached raises :class:`~inference_exp.errors.OfflineModelNotCachedError`.

Settings (read at call time):

| variable | default | meaning |
|---|---|---|
| ``INFERENCE_HOME`` | ``~/.cache/inference-exp`` | cache root |
| ``OFFLINE_MODE`` | ``false`` | serve from the cache only |
| ``CACHE_LOCK_TIMEOUT`` | ``300`` | seconds a waiter tolerates a lock holder that shows no progress |
| ``AUTO_LOADER_CACHE_EXPIRATION_MINUTES`` | ``1440`` | lifetime of auto-resolution entries |
| ``DISABLE_INTERACTIVE_PROGRESS_BARS`` | ``false`` | never draw download bars |
| ``DOWNLOAD_READ_TIMEOUT`` | ``60`` | seconds without a byte before a download is interrupted (then resumed) |
| ``API_CALLS_TIMEOUT``, ``API_CALLS_MAX_TRIES``, … | | see :mod:`inference_exp.utils.http` |

Intended use by the loader::

    cache = ModelCache()
    key = cache.resolution_key(request, environment=env, api_key=key)
    if (hit := cache.lookup_resolution(key)) is not None:          # works offline too
        return load(hit.package_dir)
    if settings.offline_mode():
        metadata = cache.load_model_metadata(model_id)              # None → OfflineModelNotCachedError
    else:
        metadata = get_roboflow_model_metadata(model_id, api_key=key)
        cache.store_model_metadata(model_id, metadata)
    for package in negotiate(metadata, env, request):
        package_dir = cache.materialize_package(metadata.model_id, package)
        model = load(package_dir)
        cache.store_resolution(key, ResolutionEntry(metadata.model_id, package.package_id, details))
        return model

Management (list, verify, remove, prune) lives in :mod:`inference_exp.cache.management`.
"""

from __future__ import annotations

from inference_exp.cache._resolutions import ResolutionEntry
from inference_exp.cache.store import ModelCache

__all__ = ["ModelCache", "ResolutionEntry"]
