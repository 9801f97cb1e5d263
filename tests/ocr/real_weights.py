"""What the tests on the real PP-OCRv4 weights share: where things are, the wheel check, the install script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE = REPO_ROOT / "examples" / "assets" / "page.png"
PAGE_TEXT = REPO_ROOT / "examples" / "assets" / "page.txt"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install_ppocr_packages.py"
WHEEL_SETUP = (
    "pip install --no-deps --ignore-requires-python rapidocr_onnxruntime==1.4.4 && "
    "pip install pyclipper shapely PyYAML Pillow"
)


def requires_rapidocr_wheel() -> None:
    """Skip unless the ``rapidocr_onnxruntime`` wheel (the source of the real PP-OCRv4 weights) is installed."""
    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        pytest.skip(f"rapidocr_onnxruntime is not installed (run `{WHEEL_SETUP}` to test the real PP-OCRv4 weights)")


def install_script() -> ModuleType:
    """``scripts/install_ppocr_packages.py`` as a module."""
    spec = importlib.util.spec_from_file_location("install_ppocr_packages", INSTALL_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def page_lines() -> list[str]:
    """The text printed on page.png, line by line."""
    return PAGE_TEXT.read_text(encoding="utf-8").splitlines()
