"""Import optional dependencies on first use, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from inference_exp.errors import MissingDependencyError


def require(module: str, *, needed_for: str, extra: str | None = None, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``extra``.

    Args:
        module: import name (``"onnxruntime"``).
        needed_for: what the caller was doing, for the message (``"Running ONNX models"``).
        extra: the inference-exp extra that installs it (``"onnx-cpu"``).
        package: the pip distribution name when it differs from the import name.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(package or module, needed_for=needed_for, extra=extra) from error
