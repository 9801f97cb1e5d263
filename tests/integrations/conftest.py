"""Fixtures of the batch-inference tests: Ray Data (skips without it) and the console script."""

from __future__ import annotations

import os
import subprocess

import pytest
from helpers.console import console_script


@pytest.fixture(scope="session")
def ray_data():
    """Ray Data (the ``ray`` extra); skips the test when it is not installed."""
    return pytest.importorskip(
        "ray.data", reason="ray[data] is not installed (pip install 'inference-exp[ray]')"
    )


@pytest.fixture
def run_batch():
    """``run_batch(*args)``: the real ``inference-exp batch`` console script in a subprocess, with the test's
    environment (its cache root included)."""
    script = console_script()

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        environment = {**os.environ, "DISABLE_INTERACTIVE_PROGRESS_BARS": "true", "RAY_AUTH_MODE": "disabled"}
        environment.pop("RAY_ADDRESS", None)
        return subprocess.run(
            [script, "batch", *args], capture_output=True, text=True, env=environment, timeout=timeout
        )

    return run
