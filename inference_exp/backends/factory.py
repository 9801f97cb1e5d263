"""Open the runner a package's backend needs, from a package directory and the load options."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inference_exp.backends.base import Runner
from inference_exp.errors import (
    CorruptedModelPackageError,
    InvalidParameterError,
    ModelImplementationNotFoundError,
)
from inference_exp.models.base import LoadOptions
from inference_exp.packages.types import BackendType

#: Weights file of each backend inside a package directory.
WEIGHTS_FILES = {BackendType.ONNX: "weights.onnx", BackendType.TORCH_SCRIPT: "weights.torchscript"}
#: ``LoadOptions.extra`` key: ONNX Runtime threads per operator (e.g. 1 per worker when several share a machine).
ONNX_THREADS_OPTION = "onnx_intra_op_num_threads"


def open_runner(
    package_dir: str | Path,
    options: LoadOptions,
    *,
    weights_file: str | None = None,
    input_shape: Sequence[int | None] | None = None,
) -> Runner:
    """The runner for ``options.backend`` on the package's weights.

    Args:
        package_dir: the package directory.
        options: load options (backend, device, ONNX providers and threads).
        weights_file: the weights file name when it is not the backend's default (:data:`WEIGHTS_FILES`).
        input_shape: ``(batch, channels, height, width)`` for runtimes that do not record it (TorchScript).

    Raises:
        CorruptedModelPackageError: the weights file is missing or unreadable.
        ModelImplementationNotFoundError: the backend has no runner in this library.
        MissingDependencyError: the backend's runtime is not installed.
    """
    if options.backend not in WEIGHTS_FILES:
        raise ModelImplementationNotFoundError(f"inference-exp has no runner for the {options.backend} backend.")
    path = Path(package_dir) / (weights_file or WEIGHTS_FILES[options.backend])
    if not path.is_file():
        raise CorruptedModelPackageError(f"The model package is incomplete: {path.name} is missing from {path.parent}.")
    if options.backend is BackendType.ONNX:
        from inference_exp.backends.onnx import OnnxRunner

        threads = options.extra.get(ONNX_THREADS_OPTION)
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool)):
            raise InvalidParameterError(f"{ONNX_THREADS_OPTION} must be an int, not {threads!r}.")
        return OnnxRunner(
            path,
            device=options.device,
            execution_providers=options.onnx_execution_providers,
            default_trt_options=options.default_onnx_trt_options,
            intra_op_num_threads=threads,
        )
    from inference_exp.backends.torchscript import TorchScriptRunner

    return TorchScriptRunner(path, device=options.device, input_shape=input_shape)
