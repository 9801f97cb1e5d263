"""Inter-process locks of the cache, whose waits last as long as the holder makes progress.

A waiter does not give up after a fixed time: a holder downloading a multi-gigabyte file may need hours.
Instead the holder *heartbeats* — it touches its lock file while it makes progress (bytes arrive, it waits
on a lock whose own holder progresses) — and a waiter fails with :class:`CacheLockTimeoutError` only after
``stall_timeout`` seconds without a heartbeat. A holder that dies releases its OS lock at once.

Locks only prevent duplicate work: every change to the cache is an atomic rename, so two processes that
both believe they hold a lock (possible when a lock file is pruned while someone opens it) produce the same
verified result, never a corrupted one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from inference_exp.errors import CacheLockTimeoutError
from inference_exp.settings import env_float

POLL_INTERVAL_SECONDS = 0.1
HEARTBEAT_INTERVAL_SECONDS = 0.25
DEFAULT_LOCK_TIMEOUT_SECONDS = 300.0


def lock_timeout_from_env() -> float:
    """``CACHE_LOCK_TIMEOUT``: seconds a waiter tolerates a lock holder that shows no progress (default 300)."""
    return env_float("CACHE_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_SECONDS, minimum=0.0)


class CacheLock:
    """An exclusive lock on ``path`` (an OS file lock through :mod:`filelock`), with progress heartbeats.

    Args:
        path: the lock file.
        what: what the lock protects, for error messages (``"the download of weights.onnx"``).
    """

    def __init__(self, path: Path, *, what: str) -> None:
        self.path = path
        self.what = what
        self._lock = filelock.FileLock(str(path))
        self._last_heartbeat = 0.0

    def __repr__(self) -> str:
        return f"CacheLock({str(self.path)!r}, locked={self._lock.is_locked})"

    def acquire(self, stall_timeout: float, on_progress: Callable[[], None] | None = None) -> None:
        """Wait for the lock as long as its holder heartbeats at least every ``stall_timeout`` seconds.

        Args:
            stall_timeout: seconds without a heartbeat after which waiting fails.
            on_progress: called whenever the holder is seen progressing (used to heartbeat locks the
                waiter itself holds, so that its own waiters keep waiting too).

        Raises:
            CacheLockTimeoutError: the holder made no visible progress for ``stall_timeout`` seconds.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        last_mark = self._progress_mark()
        last_change = time.monotonic()
        while True:
            try:
                self._lock.acquire(timeout=POLL_INTERVAL_SECONDS)
                return
            except filelock.Timeout:
                pass
            mark = self._progress_mark()
            now = time.monotonic()
            if mark != last_mark:
                last_mark, last_change = mark, now
                if on_progress is not None:
                    on_progress()
            elif now - last_change >= stall_timeout:
                raise CacheLockTimeoutError(
                    f"Gave up waiting for {self.what}: another process holds its lock ({self.path}) and made no "
                    f"progress for {stall_timeout:g} s."
                )

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it, without waiting."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    def release(self) -> None:
        self._lock.release()

    @contextlib.contextmanager
    def held(
        self, stall_timeout: float, on_progress: Callable[[], None] | None = None
    ) -> Iterator[CacheLock]:
        """Context manager form of :meth:`acquire` / :meth:`release`."""
        self.acquire(stall_timeout, on_progress)
        try:
            yield self
        finally:
            self.release()

    def heartbeat(self) -> None:
        """Tell waiters this holder is making progress (rate-limited; cheap to call often)."""
        now = time.monotonic()
        if now - self._last_heartbeat < HEARTBEAT_INTERVAL_SECONDS:
            return
        self._last_heartbeat = now
        with contextlib.suppress(OSError):
            os.utime(self.path)

    def _progress_mark(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_ino, info.st_mtime_ns)
