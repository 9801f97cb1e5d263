"""The installed ``inference-exp`` console script, for tests that run it in a subprocess."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def console_script() -> str:
    """The path of the ``inference-exp`` script of this interpreter's environment (fails the test if absent)."""
    installed = Path(sys.executable).with_name("inference-exp")
    if installed.exists():
        return str(installed)
    found = shutil.which("inference-exp")
    if found is None:
        pytest.fail("the inference-exp console script is not installed (pip install -e .)")
    return found
