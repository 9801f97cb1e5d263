"""Concurrent materialisation: one download per blob across processes; waits that follow the holder's progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cache_checks import assert_cache_clean, assert_package_dir_holds, package, temp_entries
from helpers.fake_weights_api import onnx_package

from inference_exp.cache import ModelCache
from inference_exp.cache._layout import package_lock_name
from inference_exp.cache._locks import CacheLock
from inference_exp.cache.management import verify
from inference_exp.errors import CacheLockTimeoutError

WORKER = Path(__file__).with_name("materialize_worker.py")
WORKERS = 8
WORKER_ENV = {"API_CALLS_TIMEOUT": "10", "DOWNLOAD_READ_TIMEOUT": "10", "CACHE_LOCK_TIMEOUT": "30"}


def test_eight_processes_download_each_blob_once(fake_api):
    weights = fake_api.add_file("weights.onnx", os.urandom(400_000))
    names = fake_api.add_file("class_names.txt", b"bolt\nnut\n")
    fake_api.throttle(chunk_bytes=16 * 1024, delay=0.02)  # about half a second per download
    description = onnx_package("p1", [weights.entry(), names.entry(), weights.entry("backup/weights.onnx")])
    root = ModelCache().root
    command = [sys.executable, str(WORKER), str(root), "acme/1", json.dumps(description), "--wait"]
    env = {**os.environ, **WORKER_ENV}
    workers = [
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(WORKERS)
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:  # start them all at once
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, (_, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
    directories = {out.strip().splitlines()[-1] for out, _ in results}
    assert len(directories) == 1
    assert_package_dir_holds(
        Path(directories.pop()),
        {
            "weights.onnx": weights.content,
            "class_names.txt": names.content,
            "backup/weights.onnx": weights.content,
        },
    )
    assert fake_api.count(weights.path) == 1
    assert fake_api.count(names.path) == 1
    assert verify().ok
    assert_cache_clean(root)


def test_waiter_keeps_waiting_while_the_holder_makes_progress(tmp_path):
    lock_path = tmp_path / "locks" / "fetch-0123456789abcdef0123456789abcdef.lock"
    acquired, released = threading.Event(), threading.Event()

    def hold_with_progress() -> None:
        holder = CacheLock(lock_path, what="a download")
        holder.acquire(1.0)
        acquired.set()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            holder.heartbeat()
            time.sleep(0.05)
        released.set()
        holder.release()

    thread = threading.Thread(target=hold_with_progress)
    thread.start()
    assert acquired.wait(5)
    seen_progress = []
    started = time.monotonic()
    waiter = CacheLock(lock_path, what="a download")
    waiter.acquire(0.4, on_progress=lambda: seen_progress.append(1))  # far shorter than the hold
    waited = time.monotonic() - started
    waiter.release()
    thread.join()
    assert released.is_set() and waited >= 1.3
    assert len(seen_progress) >= 3


def test_waiter_gives_up_on_a_holder_without_progress(tmp_path):
    lock_path = tmp_path / "locks" / "fetch-0123456789abcdef0123456789abcdef.lock"
    holder = CacheLock(lock_path, what="a download")
    holder.acquire(1.0)
    try:
        started = time.monotonic()
        with pytest.raises(CacheLockTimeoutError, match=r"no progress for 0\.4 s"):
            CacheLock(lock_path, what="the download of weights.onnx").acquire(0.4)
        assert 0.35 <= time.monotonic() - started < 2.0
    finally:
        holder.release()


def test_materialisation_times_out_behind_a_stuck_process_and_leaves_nothing(fake_api):
    weights = fake_api.add_file("weights.onnx", b"w" * 1000)
    cache = ModelCache()
    stuck = CacheLock(cache.layout.lock(package_lock_name("acme/1", "p1")), what="a stuck materialisation")
    stuck.acquire(1.0)
    try:
        with pytest.raises(CacheLockTimeoutError):
            cache.materialize_package("acme/1", package("p1", [weights.entry()]), lock_timeout=0.3)
    finally:
        stuck.release()
    assert fake_api.requests == []
    assert temp_entries(cache.root) == []
    assert_package_dir_holds(
        cache.materialize_package("acme/1", package("p1", [weights.entry()])), {"weights.onnx": b"w" * 1000}
    )


def test_progress_propagates_through_a_chain_of_waiters(fake_api, monkeypatch):
    """A waits on nothing and downloads slowly; B (another package, same blob) waits on A's download while
    holding its own package lock; C waits on B's package lock with a short timeout and must not give up."""
    monkeypatch.setenv("DOWNLOAD_READ_TIMEOUT", "5")
    weights = fake_api.add_file("weights.onnx", os.urandom(300_000))
    fake_api.throttle(chunk_bytes=8 * 1024, delay=0.03)  # about 1.1 s
    cache = ModelCache()
    results: dict[str, object] = {}

    def run(name: str, package_id: str, timeout: float, delay: float) -> None:
        time.sleep(delay)
        try:
            results[name] = cache.materialize_package(
                "acme/1", package(package_id, [weights.entry()]), lock_timeout=timeout
            )
        except Exception as error:  # reported through the assertion below
            results[name] = error

    threads = [
        threading.Thread(target=run, args=("A", "pa", 30.0, 0.0)),
        threading.Thread(target=run, args=("B", "pb", 30.0, 0.2)),
        threading.Thread(target=run, args=("C", "pb", 0.5, 0.4)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(isinstance(results[name], Path) for name in "ABC"), results
    assert results["B"] == results["C"]
    assert fake_api.count(weights.path) == 1
    assert_cache_clean(cache.root)
