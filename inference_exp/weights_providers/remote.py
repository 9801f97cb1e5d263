"""Models by id: the Roboflow weights API behind the verified cache.

::

    resolution cache hit (same request, machine and key, within the TTL)?  → cached metadata, no API call
    installed locally (ModelCache.install_package)?                        → cached metadata, no API call
    OFFLINE_MODE?                                                          → cached metadata, cached packages only
    otherwise                                                              → weights API (recorded for offline use)
    chosen package → ModelCache.materialize_package → verified directory; after a successful load the decision
    is remembered in the resolution cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inference_exp import settings
from inference_exp.cache import ModelCache, ResolutionEntry
from inference_exp.errors import OfflineModelNotCachedError
from inference_exp.packages.manifests import ModelMetadata, ModelPackage, UnusablePackage
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.utils.logging import get_logger
from inference_exp.weights_providers import ModelSource, registry_class_resolver
from inference_exp.weights_providers.roboflow import get_roboflow_model_metadata

logger = get_logger("weights_providers")

NOT_CACHED_REASON = "not in the local cache (OFFLINE_MODE is on)"


def roboflow_model_source(
    model_id: str,
    *,
    api_key: str | None,
    request_fingerprint: Mapping[str, Any],
    environment: RuntimeEnvironment,
    cache: ModelCache | None = None,
    use_resolution_cache: bool = True,
    lock_timeout: float | None = None,
    download_files_without_hash: bool = False,
) -> ModelSource:
    """The :class:`ModelSource` of a model served by the Roboflow weights API, through the cache.

    Args:
        model_id: the model id (``workspace/project/3``) or alias.
        api_key: the API key (default ``ROBOFLOW_API_KEY``; public models need none).
        request_fingerprint: every option that influences the choice of a package (JSON-serialisable, without
            the API key): the key of the resolution cache.
        environment: the machine the choice is made for (also part of that key).
        cache: the cache to use (default: the one at ``INFERENCE_HOME``).
        use_resolution_cache: reuse and record decisions for repeated identical requests.
        lock_timeout: seconds to wait for another process's download that makes no progress.
        download_files_without_hash: accept package files for which the API declares no MD5.

    Raises:
        OfflineModelNotCachedError: offline, and the model has no metadata or no package in the cache.
        ModelRetrievalError: the API refused or failed (typed subclasses per status).
    """
    cache = cache if cache is not None else ModelCache()
    api_key = settings.api_key(api_key)
    offline = settings.offline_mode()
    key = (
        cache.resolution_key(request_fingerprint, environment=environment, api_key=api_key)
        if use_resolution_cache
        else None
    )
    metadata = _recently_resolved_metadata(cache, key)
    if metadata is None and cache.is_installed_locally(model_id):  # no provider knows these models
        metadata = cache.load_model_metadata(model_id)
    if metadata is None and offline:
        metadata = cache.load_model_metadata(model_id)
        if metadata is None:
            raise OfflineModelNotCachedError(f"OFFLINE_MODE is on and model {model_id!r} is not in the local cache.")
    if metadata is None:
        metadata = get_roboflow_model_metadata(model_id, api_key=api_key)
        cache.store_model_metadata(model_id, metadata)
    if offline:
        metadata = _only_cached_packages(metadata, cache)

    def materialise(package: ModelPackage) -> Any:
        return cache.materialize_package(
            metadata.model_id,
            package,
            lock_timeout=lock_timeout,
            download_files_without_hash=download_files_without_hash,
        )

    def remember(package: ModelPackage) -> None:
        if key is not None:
            cache.store_resolution(key, ResolutionEntry(model_id=metadata.model_id, package_id=package.package_id))

    return ModelSource(
        metadata=metadata,
        materialise=materialise,
        model_class=registry_class_resolver(metadata),
        on_loaded=remember,
    )


def _recently_resolved_metadata(cache: ModelCache, key: str | None) -> ModelMetadata | None:
    """The cached metadata behind a live resolution-cache entry, or ``None``."""
    if key is None:
        return None
    hit = cache.lookup_resolution(key)
    if hit is None:
        return None
    metadata = cache.load_model_metadata(hit.model_id)
    if metadata is not None:
        logger.debug("Resolution cache hit for %s (package %s): the weights API is not called.", hit.model_id, hit.package_id)
    return metadata


def _only_cached_packages(metadata: ModelMetadata, cache: ModelCache) -> ModelMetadata:
    """``metadata`` with the packages that are not completely cached moved to the unusable ones.

    Raises:
        OfflineModelNotCachedError: no package of the model is cached.
    """
    cached_ids = {
        p.package_id for p in metadata.packages if cache.find_package_dir(metadata.model_id, p.package_id) is not None
    }
    cached = tuple(p for p in metadata.packages if p.package_id in cached_ids)
    if not cached:
        raise OfflineModelNotCachedError(
            f"OFFLINE_MODE is on and none of the {len(metadata.packages)} packages of model "
            f"{metadata.model_id!r} is in the local cache."
        )
    missing = tuple(
        UnusablePackage(package_id=p.package_id, reason=NOT_CACHED_REASON)
        for p in metadata.packages
        if p.package_id not in cached_ids
    )
    return metadata.model_copy(update={"packages": cached, "unusable_packages": metadata.unusable_packages + missing})
