"""Small, side-effect-free readers of machine facts: files, dpkg, installed distributions.

Every function here is cheap and never raises for a fact that cannot be read (it returns ``None``); the
parsers take text so that tests can feed them any machine's files.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

DRIVER_VERSION_FILE = "/proc/driver/nvidia/version"
TEGRA_RELEASE_FILE = "/etc/nv_tegra_release"
DEVICE_TREE_MODEL_FILE = "/proc/device-tree/model"
OS_RELEASE_FILE = "/etc/os-release"
CPU_INFO_FILE = "/proc/cpuinfo"
# Files whose presence says "an NVIDIA driver is loaded here" without asking CUDA or torch.
NVIDIA_PRESENCE_FILES = (DRIVER_VERSION_FILE, "/dev/nvidia0", "/dev/nvhost-ctrl-gpu", TEGRA_RELEASE_FILE)

# Known Jetson modules, most specific first (``AGX Xavier Industrial`` before ``AGX Xavier``).
JETSON_MODULES = (
    "NVIDIA Jetson Orin Nano",
    "NVIDIA Jetson Orin NX",
    "NVIDIA Jetson AGX Orin",
    "NVIDIA Jetson IGX Orin",
    "NVIDIA Jetson Xavier NX",
    "NVIDIA Jetson AGX Xavier Industrial",
    "NVIDIA Jetson AGX Xavier",
    "NVIDIA Jetson Nano",
    "NVIDIA Jetson TX2",
)

_DOTTED_NUMBER = re.compile(r"\d+(?:\.\d+){1,2}")
_TEGRA_RELEASE = re.compile(r"#\s*R(?P<major>\d+)\s*\(release\),\s*REVISION:\s*(?P<revision>\d+(?:\.\d+)*)")


def read_text(path: str) -> str | None:
    """The file's text, or ``None`` when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def path_exists(path: str) -> bool:
    """Whether ``path`` exists (``False`` when it cannot be checked)."""
    try:
        return Path(path).exists()
    except OSError:
        return False


def module_available(name: str) -> bool:
    """Whether a top-level module can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def dpkg_version(package_pattern: str) -> str | None:
    """The upstream version of the first installed dpkg package matching ``package_pattern`` (globs allowed).

    ``10.12.0.36-1+cuda12.9`` → ``10.12.0.36`` (epoch, Debian revision and ``+`` suffix removed). ``None``
    when dpkg is absent or no such package is installed.
    """
    if shutil.which("dpkg-query") is None:
        return None
    try:
        completed = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Version}\n", package_pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    for line in completed.stdout.splitlines():
        status, _, version = line.strip().partition(" ")
        if status.startswith("ii") and version.strip():
            return upstream_version(version.strip())
    return None


def upstream_version(debian_version: str) -> str:
    """``1:10.12.0.36-1+cuda12.9`` → ``10.12.0.36``."""
    version = debian_version.split(":", 1)[-1]
    version = version.split("+", 1)[0]
    return version.split("-", 1)[0].strip()


def distribution_version(*names: str) -> str | None:
    """The version of the first installed distribution among ``names``, without a ``+local`` suffix."""
    for name in names:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if version:
            return strip_local_version(version)
    return None


def strip_local_version(version: str) -> str:
    """``2.13.0+cu128`` → ``2.13.0``."""
    return version.split("+", 1)[0].strip()


def parse_driver_version(text: str | None) -> str | None:
    """The driver version in the first line of ``/proc/driver/nvidia/version`` (``550.54.15``)."""
    if not text:
        return None
    match = _DOTTED_NUMBER.search(text.splitlines()[0])
    return match.group(0) if match else None


def parse_tegra_release(text: str | None) -> str | None:
    """The L4T version in ``/etc/nv_tegra_release``: ``# R36 (release), REVISION: 4.3, ...`` → ``36.4.3``."""
    if not text:
        return None
    match = _TEGRA_RELEASE.search(text)
    return f"{match['major']}.{match['revision']}" if match else None


def parse_os_release(text: str | None) -> str | None:
    """``<ID>-<VERSION_ID>`` from ``/etc/os-release``, lower-cased (``ubuntu-22.04``)."""
    if not text:
        return None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("'\"")
    name = fields.get("ID") or fields.get("NAME")
    if not name:
        return None
    version = fields.get("VERSION_ID")
    return (f"{name}-{version}" if version else name).lower()


def parse_cpu_name(text: str | None) -> str | None:
    """The ``model name`` of the first CPU in ``/proc/cpuinfo``."""
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return None


def normalise_device_name(name: str) -> str:
    """A GPU or Jetson name in the form packages use: spaces → ``-``, lower-cased (``nvidia-l4``)."""
    return "-".join(name.strip().lower().split())


def normalise_jetson_type(raw: str | None) -> str | None:
    """The known Jetson module ``raw`` starts with, normalised (``nvidia-jetson-orin-nx``); ``None`` if unknown.

    ``raw`` may be a device-tree model string (``NVIDIA Jetson Orin NX Engineering Reference Developer Kit``)
    or an already normalised name.
    """
    if not raw:
        return None
    candidate = normalise_device_name(raw.replace("\x00", " "))
    for module in JETSON_MODULES:
        known = normalise_device_name(module)
        if candidate == known or candidate.startswith(known + "-"):
            return known
    return None
