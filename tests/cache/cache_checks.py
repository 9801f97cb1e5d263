"""Assertions on a cache tree, computed independently of the code under test (by re-hashing files)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from inference_exp.packages.manifests import ModelPackage


def package(package_id: str, files: list[dict[str, Any]]) -> ModelPackage:
    """A validated ONNX package with these ``packageFiles`` entries."""
    from helpers.fake_weights_api import onnx_package

    return ModelPackage.model_validate(onnx_package(package_id, files))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def temp_entries(root: Path) -> list[str]:
    temp = root / "tmp"
    return sorted(entry.name for entry in temp.iterdir()) if temp.is_dir() else []


def blob_names(root: Path) -> list[str]:
    blobs = root / "blobs"
    return sorted(entry.name for entry in blobs.iterdir()) if blobs.is_dir() else []


def assert_blobs_verified(root: Path) -> None:
    """Every blob's content hashes to its name and is described by an index record with its true MD5."""
    records = {}
    index = root / "index" / "md5"
    if index.is_dir():
        for path in index.iterdir():
            document = json.loads(path.read_text())
            records[document["sha256"]] = document
    for name in blob_names(root):
        content = (root / "blobs" / name).read_bytes()
        assert sha256(content) == name, f"blob {name} does not hash to its name"
        assert name in records, f"blob {name} has no verified record"
        assert records[name]["md5"] == md5(content)
        assert records[name]["size"] == len(content)


def assert_cache_clean(root: Path) -> None:
    """No temporary leftovers, and nothing unverified in ``blobs/``."""
    assert temp_entries(root) == [], f"temporary files left: {temp_entries(root)}"
    assert_blobs_verified(root)


def assert_package_dir_holds(package_dir: Path, expected: dict[str, bytes]) -> None:
    """The directory has exactly these files (by handle) with exactly this content."""
    found = {}
    for current, _, files in os.walk(package_dir):
        for name in files:
            path = Path(current) / name
            found[path.relative_to(package_dir).as_posix()] = path.read_bytes()
    assert found == expected


def regular_file_bytes(root: Path) -> int:
    """Bytes of distinct regular files under ``root`` (hard links counted once, symlinks not followed)."""
    seen, total = set(), 0
    for current, _, files in os.walk(root):
        for name in files:
            info = os.lstat(os.path.join(current, name))
            if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def files_outside(directory: Path, allowed: Path) -> list[Path]:
    """Files under ``directory`` that are not under ``allowed``."""
    result = []
    for current, _, files in os.walk(directory):
        for name in files:
            path = Path(current) / name
            if allowed not in path.parents:
                result.append(path)
    return result
