"""Shared test fixtures.

Real weights and reference predictions live outside the repository, in ``../shared/fixtures`` (override
with ``INFERENCE_EXP_FIXTURES``). Tests that need them use the ``fixtures_dir`` fixture, which skips with
a message saying where it looked. ``fake_api`` (``tests/helpers/fake_weights_api.py``) is a loopback fake of the
Roboflow weights API, started and stopped by each test that uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.fake_weights_api import fake_api  # noqa: F401 - the loopback weights API fixture, for every suite
from hypothesis import settings

# Property and fuzz tests draw the same examples on every run (CI must not fail on a new draw); explore with
# HYPOTHESIS_PROFILE=explore, which draws new examples each run.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = Path(os.environ.get("INFERENCE_EXP_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared fixtures directory; skips the test when it is absent."""
    if not (FIXTURES_DIR / "MANIFEST.md").is_file():
        pytest.skip(f"shared fixtures not found at {FIXTURES_DIR} (set INFERENCE_EXP_FIXTURES to run parity tests)")
    return FIXTURES_DIR


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache root and no ambient credentials or offline switch."""
    monkeypatch.setenv("INFERENCE_HOME", str(tmp_path_factory.mktemp("inference-home")))
    for name in ("ROBOFLOW_API_KEY", "ROBOFLOW_API_HOST", "OFFLINE_MODE", "DEFAULT_DEVICE"):
        monkeypatch.delenv(name, raising=False)
