"""Shared fixtures of the parity tests (the fixture images and reference predictions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixture_packages import IMAGES


@pytest.fixture(scope="session")
def images(fixtures_dir: Path) -> dict[str, object]:
    import cv2

    return {name: cv2.imread(str(fixtures_dir / "images" / name)) for name in IMAGES}


@pytest.fixture(scope="session")
def references(fixtures_dir: Path):
    def load(folder: str, image: str) -> dict:
        return json.loads((fixtures_dir / "references" / folder / f"{image}.json").read_text())

    return load
