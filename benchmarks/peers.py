"""Private virtual environments for the peer tools (never the project's venv), created on first use and reused.

Each peer gets ``benchmarks/.venvs/<name>/`` (git-ignored). The machine's pip is capped at ``torch<=2.14.1``; the
lean CPU wheel (2.13.0) does not import beside PyPI's torchvision, which both peers need, so each venv first gets
``torch==2.14.1 torchvision==0.29.1`` (CUDA builds, resolved from local disk, ~5.5 GB per venv), then the peer.
A marker file records the install steps and how long they took; a venv whose marker does not match the steps
below is rebuilt. A failed install is reported with the end of pip's log, never raised.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

VENVS = Path(__file__).resolve().parent / ".venvs"
TORCH_STEP = ("torch==2.14.1", "torchvision==0.29.1")
MARKER = ".bench-installed.json"


@dataclass(frozen=True)
class Peer:
    """A peer tool: its venv name and pip install steps (each step one ``pip install`` call)."""

    name: str
    steps: tuple[tuple[str, ...], ...]
    env: dict[str, str] = field(default_factory=dict)


PEERS = {
    peer.name: peer
    for peer in (
        # onnxruntime pinned to the project's version: Ultralytics would otherwise pip-install it at run time.
        Peer(
            "ultralytics",
            (TORCH_STEP, ("ultralytics==8.4.190", "onnxruntime==1.32.0")),
            # no network calls, no run-time pip installs, no console output, settings kept inside the venv
            env={"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0", "YOLO_VERBOSE": "False"},
        ),
        # its onnx-cpu extra requires onnxruntime<1.23, so this peer runs an older ONNX Runtime than the others
        Peer("inference-models", (TORCH_STEP, ("inference-models[onnx-cpu]==0.39.6",))),
    )
}


@dataclass(frozen=True)
class PeerEnvironment:
    """Where a peer runs, or why it cannot."""

    name: str
    python: Path | None
    reason: str | None = None
    install_s: float | None = None
    installed_now: bool = False
    env: dict[str, str] = field(default_factory=dict)


def _base_python() -> str:
    """The interpreter the project's venv was made from (peers get the same Python)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure(peer: Peer, *, install: bool = True, log=print) -> PeerEnvironment:
    """The peer's venv, created and installed when missing or stale (``install=False``: report it missing)."""
    directory = VENVS / peer.name
    python = directory / "bin" / "python"
    marker = directory / MARKER
    env = {**peer.env}
    if peer.name == "ultralytics":
        env["YOLO_CONFIG_DIR"] = str(directory / "config")
    wanted = [list(step) for step in peer.steps]
    if marker.is_file() and python.exists():
        recorded = json.loads(marker.read_text())
        if recorded.get("steps") == wanted:
            return PeerEnvironment(peer.name, python, install_s=recorded.get("install_s"), env=env)
    if not install:
        return PeerEnvironment(peer.name, None, reason=f"not installed ({directory} missing; run without --no-install)")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    pip_log = directory / "install.log"
    log(f"installing {peer.name} into {directory} (first run only; log: {pip_log}) ...")
    start = time.perf_counter()
    commands = [[_base_python(), "-m", "venv", str(directory)]]
    commands += [[str(python), "-m", "pip", "install", "--quiet", *step] for step in peer.steps]
    with pip_log.open("w") as output:
        for command in commands:
            step_start = time.perf_counter()
            result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=_pip_env())
            output.write(f"# {' '.join(command)}: exit {result.returncode} after {time.perf_counter() - step_start:.0f} s\n")
            output.flush()
            if result.returncode != 0:
                reason = f"install failed ({' '.join(command[3:])}, exit {result.returncode}): {_error_tail(pip_log)}"
                return PeerEnvironment(peer.name, None, reason=reason)
    elapsed = time.perf_counter() - start
    marker.write_text(json.dumps({"steps": wanted, "install_s": elapsed}))
    log(f"installed {peer.name} in {elapsed:.0f} s ({_size_gb(directory):.1f} GB)")
    return PeerEnvironment(peer.name, python, install_s=elapsed, installed_now=True, env=env)


def _pip_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    return env


def _error_tail(path: Path, lines: int = 6) -> str:
    """The last lines of pip's log that are not its 'Location ... is ignored' noise."""
    text = [line for line in path.read_text(errors="replace").splitlines() if "is ignored: it is neither" not in line]
    return " | ".join(text[-lines:])


def _size_gb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file() and not f.is_symlink()) / 1e9
