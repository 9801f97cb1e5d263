"""Crash safety: processes killed with SIGKILL mid-download never leave a partial file that is served."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cache_checks import assert_blobs_verified, assert_package_dir_holds, package, temp_entries
from helpers.fake_weights_api import onnx_package

from inference_exp.cache import ModelCache
from inference_exp.cache.management import prune, remove_model, verify

WORKER = Path(__file__).with_name("materialize_worker.py")
RUNS = 24
WORKER_ENV = {"API_CALLS_TIMEOUT": "10", "DOWNLOAD_READ_TIMEOUT": "10"}

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def _assert_nothing_partial_is_served(root: Path, expected: dict[str, bytes]) -> None:
    """Every blob is complete and verified; a package directory, if one exists, is complete and correct."""
    assert_blobs_verified(root)
    assert verify(cache=ModelCache(root)).ok
    package_dir = ModelCache(root).find_package_dir("acme/1", "p1")
    if package_dir is not None:
        assert_package_dir_holds(package_dir, expected)


def test_sigkill_at_random_points_never_leaves_a_partial_file(fake_api):
    weights = fake_api.add_file("weights.onnx", os.urandom(256 * 1024))
    names = fake_api.add_file("class_names.txt", os.urandom(40_000))
    expected = {"weights.onnx": weights.content, "class_names.txt": names.content}
    description = onnx_package("p1", [weights.entry(), names.entry()])
    root = ModelCache().root
    command = [sys.executable, str(WORKER), str(root), "acme/1", json.dumps(description)]
    env = {**os.environ, **WORKER_ENV}
    rng = random.Random(20240501)
    mid_body_kills = partial_leftovers = 0

    for _ in range(RUNS):
        fake_api.throttle(chunk_bytes=16 * 1024, delay=0.01)  # about 0.2 s for the whole package
        requests_before, completed_before = fake_api.count(weights.path), fake_api.completed(weights.path)
        worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert worker.stdout.readline().strip() == "started"
            deadline = time.monotonic() + 10
            while (
                fake_api.count(weights.path) == requests_before
                and worker.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.25))
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.kill()
            worker.communicate(timeout=30)
        if (
            fake_api.count(weights.path) > requests_before
            and fake_api.completed(weights.path) == completed_before
        ):
            mid_body_kills += 1

        partial_leftovers += any(
            0 < (root / "tmp" / name).stat().st_size < len(weights.content)
            for name in temp_entries(root)
            if name.endswith(".part")
        )
        _assert_nothing_partial_is_served(root, expected)

        fake_api.throttle(None)
        later = ModelCache(root).materialize_package("acme/1", package("p1", description["packageFiles"]))
        assert_package_dir_holds(later, expected)
        _assert_nothing_partial_is_served(root, expected)
        remove_model("acme/1", cache=ModelCache(root))  # the next run downloads from scratch again

    assert mid_body_kills >= RUNS // 2, f"only {mid_body_kills} of {RUNS} kills landed mid-download"
    assert partial_leftovers >= RUNS // 4, f"only {partial_leftovers} kills left a partially written file"
    prune(ModelCache(root))
    assert temp_entries(root) == []
