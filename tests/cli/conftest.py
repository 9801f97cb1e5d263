"""Run the real ``inference-exp`` console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CLI = Callable[..., subprocess.CompletedProcess]


def _console_script() -> list[str]:
    installed = Path(sys.executable).with_name("inference-exp")
    if installed.exists():
        return [str(installed)]
    found = shutil.which("inference-exp")
    if found is None:
        pytest.fail("the inference-exp console script is not installed (pip install -e .)")
    return [found]


@pytest.fixture
def run_cli() -> CLI:
    """``run_cli(*args, env={...})``: run the console script with the test's environment (cache root included)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        environment = {**os.environ, "DISABLE_INTERACTIVE_PROGRESS_BARS": "true", **(env or {})}
        return subprocess.run(
            [*_console_script(), *args], capture_output=True, text=True, env=environment, timeout=timeout
        )

    return run
