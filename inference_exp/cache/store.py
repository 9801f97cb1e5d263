"""The model cache: verified package directories, recorded model metadata and remembered resolutions."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference_exp import settings
from inference_exp.cache import _resolutions
from inference_exp.cache._download import DownloadedFile, copy_to_temp, download_to_temp, show_progress_bars
from inference_exp.cache._fs import (
    WRITE_TEMP_OWNER,
    atomic_write_json,
    fsync_directory,
    make_read_only,
    read_json_object,
    remove_tree_counted,
    temp_path,
)
from inference_exp.cache._layout import (
    FORMAT_VERSION,
    CacheLayout,
    blob_lock_name,
    fetch_lock_name,
    file_path,
    package_lock_name,
    unhashed_fetch_lock_name,
)
from inference_exp.cache._locks import CacheLock, lock_timeout_from_env
from inference_exp.cache._records import BlobRecord, LinkKind, PackageFileRecord, PackageRecord, utc_now
from inference_exp.cache._resolutions import ResolutionEntry
from inference_exp.errors import (
    CorruptedModelPackageError,
    DownloadError,
    InsecureModelIdentifierError,
    InvalidParameterError,
    OfflineModelNotCachedError,
    UntrustedPackageError,
)
from inference_exp.packages.file_handles import check_file_handles, check_package_id
from inference_exp.packages.manifests import ModelMetadata, ModelPackage, PackageFile
from inference_exp.runtime.environment import RuntimeEnvironment
from inference_exp.utils.http import download_http_settings, is_http_url, new_session
from inference_exp.utils.logging import get_logger

logger = get_logger("cache")


@dataclass
class _Materialization:
    """The state of one package being assembled (held locks, settings, where links go)."""

    model_id: str
    package: ModelPackage
    package_lock: CacheLock
    stall_timeout: float
    progress: bool
    assembly_files_dir: Path
    final_files_dir: Path
    session: Any
    local_sources: Mapping[str, Path] = field(default_factory=dict)

    def heartbeat(self) -> None:
        self.package_lock.heartbeat()


@dataclass(frozen=True)
class _PackageState:
    files_dir: Path
    record: PackageRecord | None
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.record is not None and not self.missing


class ModelCache:
    """Verified model packages on disk, shared safely by concurrent processes.

    Args:
        root: cache root; defaults to :func:`inference_exp.settings.cache_root` (``INFERENCE_HOME``).

    The layout and the guarantees are described in :mod:`inference_exp.cache`.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        base = settings.cache_root() if root is None else Path(root).expanduser()
        self.layout = CacheLayout(Path(os.path.abspath(base)))

    @property
    def root(self) -> Path:
        return self.layout.root

    def __repr__(self) -> str:
        return f"ModelCache({str(self.root)!r})"

    # --- model metadata ------------------------------------------------------------------------------------

    def store_model_metadata(self, model_id: str, metadata: ModelMetadata, *, installed_locally: bool = False) -> None:
        """Record the provider's answer for ``model_id`` so that offline mode can negotiate among packages.

        When the provider resolved an alias (``metadata.model_id`` differs from ``model_id``) the answer is
        recorded under both ids. A failure to write is logged, not raised: the cache is an optimisation.
        ``installed_locally`` marks models put here by :meth:`install_package`, which no provider knows.
        """
        document = {
            "format": FORMAT_VERSION,
            "stored_at": utc_now(),
            "installed_locally": installed_locally,
            "metadata": metadata.model_dump(mode="json", by_alias=True),
        }
        for owner in dict.fromkeys((model_id, metadata.model_id)):
            try:
                self._ensure_model_dir(owner)
                atomic_write_json(
                    self.layout.metadata_file(owner), {**document, "model_id": owner}, self.layout.temp_dir
                )
            except OSError as error:
                logger.warning("Could not record the metadata of model %r in the cache: %s", owner, error)

    def load_model_metadata(self, model_id: str) -> ModelMetadata | None:
        """The metadata last recorded for ``model_id``; ``None`` when there is none (or it is unreadable)."""
        document = read_json_object(self.layout.metadata_file(model_id))
        if (
            document is None
            or document.get("format") != FORMAT_VERSION
            or document.get("model_id") != model_id
        ):
            return None
        try:
            return ModelMetadata.model_validate(document["metadata"])
        except (KeyError, ValueError) as error:
            logger.warning("Ignoring the unreadable cached metadata of model %r: %s", model_id, error)
            return None

    def is_installed_locally(self, model_id: str) -> bool:
        """Whether ``model_id`` was put into the cache by :meth:`install_package` (no provider serves it)."""
        document = read_json_object(self.layout.metadata_file(model_id))
        return bool(document and document.get("model_id") == model_id and document.get("installed_locally"))

    def _ensure_model_dir(self, model_id: str, temp_owner: str = WRITE_TEMP_OWNER) -> None:
        """Create the model's directory with its ``model.json`` (which names the model) if needed.

        Raises:
            InsecureModelIdentifierError: the directory belongs to another model id (a digest collision or
                tampering).
        """
        record_path = self.layout.model_record(model_id)
        record = read_json_object(record_path)
        if record is not None and record.get("model_id") != model_id:
            raise InsecureModelIdentifierError(
                f"Cache directory {record_path.parent} belongs to model {record.get('model_id')!r}, not {model_id!r}."
            )
        if record is None:
            document = {"format": FORMAT_VERSION, "model_id": model_id}
            atomic_write_json(record_path, document, self.layout.temp_dir, temp_owner)

    # --- packages ------------------------------------------------------------------------------------------

    def find_package_dir(self, model_id: str, package_id: str) -> Path | None:
        """The complete package directory of ``package_id``, or ``None`` when it is absent or incomplete."""
        state = self._package_state(model_id, package_id)
        return state.files_dir if state.complete else None

    def _package_record(self, model_id: str, package_id: str) -> PackageRecord | None:
        """What the cached package directory holds (``None`` when it is absent or its record is unreadable)."""
        record = PackageRecord.from_json(read_json_object(self.layout.package_record(model_id, package_id)))
        return record if record is not None and record.package_id == package_id else None

    def materialize_package(
        self,
        model_id: str,
        package: ModelPackage,
        *,
        lock_timeout: float | None = None,
        progress: bool | None = None,
        download_files_without_hash: bool = False,
    ) -> Path:
        """A complete, verified directory holding ``package``'s files, downloading whatever is missing.

        A cached directory is reused when it holds exactly the files (names and declared MD5s) that
        ``package`` lists and each has its recorded size; otherwise the package is assembled again (a
        server-side change of a package's files replaces the old directory).

        Args:
            model_id: the model the package belongs to (use the provider's canonical ``metadata.model_id``).
            package: the package, as the provider described it.
            lock_timeout: seconds to keep waiting for another process's download that shows no progress;
                default ``CACHE_LOCK_TIMEOUT`` (300). A holder that keeps making progress is waited for.
            progress: draw download progress bars; default: when stderr is a terminal and
                ``DISABLE_INTERACTIVE_PROGRESS_BARS`` is not set.
            download_files_without_hash: accept files that have no declared MD5 (their content cannot be
                verified). Off by default: such a package raises :class:`UntrustedPackageError`.

        Returns:
            The package directory: one entry per file handle (a link to a verified blob).

        Raises:
            OfflineModelNotCachedError: ``OFFLINE_MODE`` is on and the package is not completely cached.
            InsecureModelIdentifierError: a package id, file handle or download URL is unsafe.
            UntrustedPackageError: files without MD5 and ``download_files_without_hash`` is false.
            CorruptedModelPackageError: a file has no download URL.
            DownloadError / HashMismatchError: a file could not be downloaded and verified.
            CacheLockTimeoutError: another process held a lock without progress for ``lock_timeout``.
        """
        check_package_id(package.package_id)
        check_file_handles(file.file_handle for file in package.files)
        _check_hashed(model_id, package, download_files_without_hash)
        state = self._package_state(model_id, package.package_id, package)
        if state.complete:
            self._touch(model_id, package.package_id)
            return state.files_dir
        if settings.offline_mode():
            raise _offline_miss(model_id, package.package_id, state, self.root)
        _check_download_urls(model_id, package)
        return self._assemble_once(model_id, package, lock_timeout, progress=show_progress_bars(progress))

    def install_package(
        self,
        metadata: ModelMetadata,
        sources: Mapping[str, str | os.PathLike[str]],
        *,
        lock_timeout: float | None = None,
    ) -> Path:
        """Put a model whose package files are on this machine into the cache, as if it had been downloaded.

        The files are copied into verified blobs (each must have the MD5 its package declares) and linked
        into the package directory; the metadata is recorded as *installed locally*, so
        ``AutoModel.from_pretrained(metadata.model_id)`` loads it without asking any weights provider.

        Args:
            metadata: the model with exactly one package, whose files all declare an MD5.
            sources: file handle → local file with that content.
            lock_timeout: as for :meth:`materialize_package`.

        Returns:
            The package directory.

        Raises:
            InvalidParameterError: not exactly one package, or ``sources`` does not match its files.
            HashMismatchError: a source file does not have the declared MD5.
        """
        if len(metadata.packages) != 1:
            raise InvalidParameterError(f"install_package needs metadata with one package, not {len(metadata.packages)}.")
        [package] = metadata.packages
        check_package_id(package.package_id)
        check_file_handles(file.file_handle for file in package.files)
        handles = {file.file_handle for file in package.files}
        if set(sources) != handles or any(file.md5_hash is None for file in package.files):
            raise InvalidParameterError(
                f"install_package: sources {sorted(sources)} must cover exactly the package files {sorted(handles)}, "
                "each with a declared md5Hash."
            )
        local_sources = {handle: Path(path) for handle, path in sources.items()}
        files_dir = self._assemble_once(metadata.model_id, package, lock_timeout, progress=False, local_sources=local_sources)
        self.store_model_metadata(metadata.model_id, metadata, installed_locally=True)
        return files_dir

    def _assemble_once(
        self,
        model_id: str,
        package: ModelPackage,
        lock_timeout: float | None,
        *,
        progress: bool,
        local_sources: Mapping[str, Path] | None = None,
    ) -> Path:
        """Under the package's lock: the package directory, assembled unless another process just did it."""
        stall_timeout = lock_timeout_from_env() if lock_timeout is None else lock_timeout
        lock_name = package_lock_name(model_id, package.package_id)
        package_lock = self._lock(lock_name, f"package {package.package_id} of model {model_id!r}")
        with package_lock.held(stall_timeout):
            self._remove_stale_temps(lock_name)
            self._ensure_model_dir(model_id, lock_name)
            state = self._package_state(model_id, package.package_id, package)
            if state.complete:
                return state.files_dir
            return self._assemble(model_id, package, package_lock, stall_timeout, progress, local_sources)

    def _package_state(
        self, model_id: str, package_id: str, package: ModelPackage | None = None
    ) -> _PackageState:
        files_dir = self.layout.package_files_dir(model_id, package_id)
        record = self._package_record(model_id, package_id)
        if record is None or (package is not None and not record.matches(package)):
            wanted = [file.file_handle for file in package.files] if package is not None else []
            return _PackageState(files_dir, None, tuple(wanted))
        missing = tuple(file.file_handle for file in record.files if not _present(files_dir, file))
        return _PackageState(files_dir, record, missing)

    def _assemble(
        self,
        model_id: str,
        package: ModelPackage,
        package_lock: CacheLock,
        stall_timeout: float,
        progress: bool,
        local_sources: Mapping[str, Path] | None = None,
    ) -> Path:
        """Build the package directory in a temporary place, then move it into the cache in one rename.

        Files named in ``local_sources`` are copied from there instead of being downloaded.
        """
        lock_name = package_lock_name(model_id, package.package_id)
        assembly = temp_path(self.layout.temp_dir, lock_name, "pkg")
        try:
            with new_session(download_http_settings()) as session:
                job = _Materialization(
                    model_id=model_id,
                    package=package,
                    package_lock=package_lock,
                    stall_timeout=stall_timeout,
                    progress=progress,
                    assembly_files_dir=assembly / "files",
                    final_files_dir=self.layout.package_files_dir(model_id, package.package_id),
                    session=session,
                    local_sources=local_sources or {},
                )
                job.assembly_files_dir.mkdir(parents=True)
                files = tuple(self._place_file(job, file) for file in package.files)
            record = PackageRecord(model_id, package.package_id, utc_now(), files)
            atomic_write_json(assembly / "package.json", record.to_json(), self.layout.temp_dir, lock_name)
            for directory, _, _ in os.walk(assembly):
                fsync_directory(Path(directory))
            return self._publish_package(model_id, package.package_id, assembly)
        finally:
            remove_tree_counted(assembly)

    def _publish_package(self, model_id: str, package_id: str, assembly: Path) -> Path:
        final = self.layout.package_dir(model_id, package_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            outdated = temp_path(self.layout.temp_dir, package_lock_name(model_id, package_id), "old")
            os.replace(final, outdated)
            remove_tree_counted(outdated)
        os.replace(assembly, final)
        fsync_directory(final.parent)
        logger.info("Cached package %s of model %r at %s.", package_id, model_id, final)
        return self.layout.package_files_dir(model_id, package_id)

    def _place_file(self, job: _Materialization, file: PackageFile) -> PackageFileRecord:
        """Link ``file`` into the package being assembled, downloading it unless a verified blob exists."""
        link = file_path(job.assembly_files_dir, file.file_handle)
        if file.md5_hash is None:
            lock_name = unhashed_fetch_lock_name(job.model_id, job.package.package_id, file.file_handle)
            with self._lock(lock_name, f"the download of {file.file_handle}").held(
                job.stall_timeout, job.heartbeat
            ) as lock:
                return self._link_download(job, file, link, self._download(job, file, lock, lock_name))
        blob = self._verified_blob(file.md5_hash)
        placed = self._link_blob(job, file, link, blob.sha256, blob.size) if blob is not None else None
        if placed is not None:
            return placed
        lock_name = fetch_lock_name(file.md5_hash)
        with self._lock(lock_name, f"the download of {file.file_handle}").held(
            job.stall_timeout, job.heartbeat
        ) as lock:
            blob = self._verified_blob(file.md5_hash)
            placed = self._link_blob(job, file, link, blob.sha256, blob.size) if blob is not None else None
            if placed is not None:
                return placed
            return self._link_download(job, file, link, self._download(job, file, lock, lock_name))

    def _download(
        self, job: _Materialization, file: PackageFile, lock: CacheLock, lock_name: str
    ) -> DownloadedFile:
        self._remove_stale_temps(lock_name)
        target = temp_path(self.layout.temp_dir, lock_name, "part")
        source = job.local_sources.get(file.file_handle)
        if source is not None:
            return copy_to_temp(source, target, expected_md5=file.md5_hash, label=file.file_handle)

        def heartbeat() -> None:
            lock.heartbeat()
            job.heartbeat()

        return download_to_temp(
            job.session,
            str(file.download_url),
            target,
            expected_md5=file.md5_hash,
            settings=download_http_settings(),
            label=file.file_handle,
            progress=job.progress,
            on_progress=heartbeat,
        )

    def _link_download(
        self, job: _Materialization, file: PackageFile, link: Path, downloaded: DownloadedFile
    ) -> PackageFileRecord:
        try:
            placed = self._link_blob(
                job, file, link, downloaded.sha256, downloaded.size, downloaded=downloaded
            )
        finally:
            downloaded.path.unlink(missing_ok=True)  # still there only if publishing failed
        if placed is None:
            raise DownloadError(
                f"{file.file_handle} vanished from the cache right after its download; retry."
            )
        return placed

    def _link_blob(
        self,
        job: _Materialization,
        file: PackageFile,
        link: Path,
        sha256: str,
        size: int,
        *,
        downloaded: DownloadedFile | None = None,
    ) -> PackageFileRecord | None:
        """Under the blob's lock: publish a fresh download (if given), then link the blob into the package.

        Returns ``None`` when the blob vanished (pruned meanwhile) and must be downloaded again.
        """
        blob_path = self.layout.blob(sha256)
        lock_name = blob_lock_name(sha256)
        with self._lock(lock_name, f"blob {sha256[:12]}").held(job.stall_timeout, job.heartbeat):
            if downloaded is not None:
                self._remove_stale_temps(lock_name)
                self._publish_blob(downloaded, index_md5=file.md5_hash is not None)
            if not _has_size(blob_path, size):
                return None
            kind = _link(blob_path, link, job.final_files_dir / Path(*file.file_handle.split("/")))
        return PackageFileRecord(file.file_handle, file.md5_hash, sha256, size, kind)

    def _publish_blob(self, downloaded: DownloadedFile, *, index_md5: bool) -> None:
        """Move a verified download into ``blobs/`` (record first, so no blob ever lacks one).

        Call only while holding the blob's lock.
        """
        if index_md5:
            record = BlobRecord(downloaded.md5, downloaded.sha256, downloaded.size, utc_now())
            owner = blob_lock_name(downloaded.sha256)
            atomic_write_json(
                self.layout.md5_record(downloaded.md5), record.to_json(), self.layout.temp_dir, owner
            )
        blob_path = self.layout.blob(downloaded.sha256)
        blob_path.parent.mkdir(parents=True, exist_ok=True)
        make_read_only(downloaded.path)
        os.replace(downloaded.path, blob_path)
        fsync_directory(blob_path.parent)

    def _verified_blob(self, md5: str) -> BlobRecord | None:
        record = BlobRecord.from_json(read_json_object(self.layout.md5_record(md5)))
        if record is None or record.md5 != md5 or not _has_size(self.layout.blob(record.sha256), record.size):
            return None
        return record

    def _touch(self, model_id: str, package_id: str) -> None:
        """Mark the package as used now (best effort: the cache may be read-only)."""
        with contextlib.suppress(OSError):
            os.utime(self.layout.package_record(model_id, package_id))

    def _lock(self, name: str, what: str) -> CacheLock:
        return CacheLock(self.layout.lock(name), what=what)

    def _remove_stale_temps(self, lock_name: str) -> None:
        """Delete temporaries left by a crashed holder of ``lock_name`` (call only while holding it)."""
        if self.layout.temp_dir.is_dir():
            for entry in self.layout.temp_dir.glob(f"{lock_name}.*"):
                remove_tree_counted(entry)

    # --- auto-resolution cache -----------------------------------------------------------------------------

    def resolution_key(
        self, request: Mapping[str, Any], *, environment: RuntimeEnvironment | str, api_key: str | None = None
    ) -> str:
        """The key of a resolution: a SHA-256 of the request, the machine and a keyed hash of the API key.

        Args:
            request: every option that influences the choice of a package (JSON-serialisable; must not
                contain the API key).
            environment: the machine (or its :meth:`RuntimeEnvironment.fingerprint`).
            api_key: the key the request is made with; only an HMAC of it (keyed by a random secret kept in
                the cache root) enters the key, so entries of different keys never mix and the key itself
                cannot be recovered from the cache.
        """
        return _resolutions.resolution_key(self.layout, request, environment=environment, api_key=api_key)

    def lookup_resolution(self, key: str) -> ResolutionEntry | None:
        """The entry stored under ``key`` if it is younger than ``AUTO_LOADER_CACHE_EXPIRATION_MINUTES``
        (default 1440) and its package directory is still complete; otherwise ``None`` (and the stale
        entry is dropped). The returned entry carries ``package_dir``."""
        return _resolutions.lookup(self.layout, key, self.find_package_dir)

    def store_resolution(self, key: str, entry: ResolutionEntry) -> None:
        """Remember that the request with ``key`` resolved to ``entry`` (best effort; failures are logged)."""
        _resolutions.store(self.layout, key, entry)

    def invalidate_resolution(self, key: str) -> None:
        """Forget the entry stored under ``key`` (no error when there is none)."""
        _resolutions.invalidate(self.layout, key)


def _check_hashed(model_id: str, package: ModelPackage, allow_unhashed: bool) -> None:
    """Refuse packages with files whose content cannot be verified, unless the caller accepts them."""
    unhashed = [file.file_handle for file in package.files if file.md5_hash is None]
    if unhashed and not allow_unhashed:
        raise UntrustedPackageError(
            f"Package {package.package_id} of model {model_id!r} has files without a declared MD5, whose "
            f"content cannot be verified: {', '.join(unhashed)}.",
            hint="Pass download_files_without_hash=True only if you trust the source, or pick another package.",
        )


def _check_download_urls(model_id: str, package: ModelPackage) -> None:
    """Refuse, before anything is written, packages whose files cannot be fetched safely."""
    for file in package.files:
        where = f"Package {package.package_id} of model {model_id!r}"
        if file.download_url is None:
            raise CorruptedModelPackageError(f"{where} lists {file.file_handle} without a download URL.")
        if not is_http_url(file.download_url):
            scheme = str(file.download_url).partition(":")[0][:16]
            raise InsecureModelIdentifierError(
                f"{where}: {file.file_handle} has a download URL with scheme {scheme!r}; only http and https "
                "URLs are downloaded."
            )


def _offline_miss(
    model_id: str, package_id: str, state: _PackageState, root: Path
) -> OfflineModelNotCachedError:
    if state.record is not None and state.missing:
        detail = f"its files {', '.join(state.missing)} are missing"
    elif state.record is not None or state.files_dir.parent.exists():
        detail = "the cached copy does not match the package's current files"
    else:
        detail = "it was never downloaded"
    return OfflineModelNotCachedError(
        f"Offline mode is on (OFFLINE_MODE=true) and package {package_id} of model {model_id!r} is not in the "
        f"cache at {root}: {detail}."
    )


def _present(files_dir: Path, file: PackageFileRecord) -> bool:
    try:
        path = file_path(files_dir, file.file_handle)
    except InsecureModelIdentifierError:
        return False
    return _has_size(path, file.size)


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _link(blob: Path, link: Path, final_location: Path) -> LinkKind:
    """Point ``link`` at ``blob``: a relative symlink valid at ``final_location``, else a hard link, else a copy."""
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(os.path.relpath(blob, final_location.parent), link)
        return "symlink"
    except OSError as error:
        logger.debug("Symlinks unavailable (%s); trying a hard link.", error)
    try:
        os.link(blob, link)
        return "hardlink"
    except OSError as error:
        logger.debug("Hard links unavailable (%s); copying.", error)
    _copy_durably(blob, link)
    return "copy"


def _copy_durably(source: Path, target: Path) -> None:
    with open(source, "rb") as reader, open(target, "wb") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())
