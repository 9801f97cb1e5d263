"""Run the real ``inference-exp`` console script in a subprocess."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest
from helpers.console import console_script

CLI = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_cli() -> CLI:
    """``run_cli(*args, env={...})``: run the console script with the test's environment (cache root included)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        environment = {**os.environ, "DISABLE_INTERACTIVE_PROGRESS_BARS": "true", **(env or {})}
        return subprocess.run(
            [console_script(), *args], capture_output=True, text=True, env=environment, timeout=timeout
        )

    return run
