"""ONNX Runtime runner and execution-provider selection."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference_exp import settings
from inference_exp.backends.base import Runner
from inference_exp.errors import CorruptedModelPackageError, InvalidParameterError
from inference_exp.utils.imports import require
from inference_exp.utils.logging import get_logger

if TYPE_CHECKING:
    import onnxruntime
    import torch

    from inference_exp.models.base import ExecutionProvider

logger = get_logger("backends.onnx")

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
TENSORRT_PROVIDER = "TensorrtExecutionProvider"
_GPU_PROVIDERS = (CUDA_PROVIDER, TENSORRT_PROVIDER)
_ORT_TO_TORCH_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64"}


def import_onnxruntime() -> Any:
    """``onnxruntime``, or a :class:`MissingDependencyError` naming the extra to install."""
    return require("onnxruntime", needed_for="Running ONNX models", extra="onnx-cpu")


def provider_name(provider: ExecutionProvider) -> str:
    """The name of a provider given as a name or as ``(name, options)``."""
    return provider if isinstance(provider, str) else provider[0]


def select_execution_providers(
    device: torch.device,
    available: Sequence[str],
    requested: Sequence[ExecutionProvider] | None = None,
    *,
    trt_engine_cache_dir: Path | None = None,
) -> list[ExecutionProvider]:
    """The providers to open a session with, most preferred first, always ending with the CPU provider.

    Args:
        device: the target device; ``cpu`` drops GPU providers from the defaults, ``cuda:N`` sets their device id.
        available: ``onnxruntime.get_available_providers()``.
        requested: the caller's providers (names or ``(name, options)``), in order; ``None`` uses
            ``ONNXRUNTIME_EXECUTION_PROVIDERS``.
        trt_engine_cache_dir: when set, the TensorRT provider caches its engines there (with fp16 enabled).

    A GPU provider that was asked for (explicitly, or by a CUDA device) but is not installed is skipped with a
    warning that says how to get it; execution continues on the next provider.
    """
    explicit = requested is not None
    candidates = list(requested) if explicit else list(settings.onnx_execution_providers())
    if device.type == "cpu" and not explicit:
        candidates = [p for p in candidates if provider_name(p) not in _GPU_PROVIDERS]
    selected: list[ExecutionProvider] = []
    for provider in candidates:
        name = provider_name(provider)
        if name not in available:
            if explicit or (name in _GPU_PROVIDERS and device.type == "cuda"):
                logger.warning(
                    "ONNX Runtime provider %s was requested but is not available (available: %s); %s",
                    name,
                    ", ".join(available),
                    "install inference-exp[onnx-cu12] (CUDA 12) to run on the GPU"
                    if name in _GPU_PROVIDERS
                    else "falling back to the next provider",
                )
            continue
        if any(provider_name(p) == name for p in selected):
            continue
        selected.append(_with_default_options(provider, device, trt_engine_cache_dir))
    if not any(provider_name(p) == CPU_PROVIDER for p in selected):
        selected.append(CPU_PROVIDER)
    return selected


def _with_default_options(
    provider: ExecutionProvider, device: torch.device, trt_engine_cache_dir: Path | None
) -> ExecutionProvider:
    if not isinstance(provider, str):
        return provider  # the caller's own options win
    device_id = device.index or 0
    if provider == CUDA_PROVIDER:
        return (provider, {"device_id": device_id})
    if provider == TENSORRT_PROVIDER:
        options: dict[str, Any] = {"device_id": device_id}
        if trt_engine_cache_dir is not None:
            options |= {
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(trt_engine_cache_dir),
                "trt_fp16_enable": True,
            }
        return (provider, options)
    return provider


def trt_engine_cache_dir_for(model_path: Path) -> Path:
    """Where ONNX Runtime's TensorRT provider keeps engines for ``model_path``: under the cache root, never
    inside the (read-only, shared) package directory."""
    digest = hashlib.sha256(str(model_path.resolve()).encode()).hexdigest()[:24]
    return settings.cache_root() / "onnxruntime-trt-engines" / digest


class OnnxRunner(Runner):
    """Runs an ONNX graph with ONNX Runtime.

    On CPU the batch is handed over without a copy and outputs come back as tensors sharing ONNX Runtime's
    buffers. ``session.run`` is thread-safe, so one runner can serve several threads.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        device: str = "cpu",
        execution_providers: Sequence[ExecutionProvider] | None = None,
        default_trt_options: bool = True,
        intra_op_num_threads: int | None = None,
    ) -> None:
        """Open a session.

        Args:
            model_path: the ``.onnx`` file.
            device: ``cpu`` or ``cuda[:N]``.
            execution_providers: providers to use, in order (default: ``ONNXRUNTIME_EXECUTION_PROVIDERS``).
            default_trt_options: give the TensorRT provider an engine cache under the cache root and fp16.
            intra_op_num_threads: threads per operator (``None``: ONNX Runtime's default, one per core).
        """
        import torch

        ort = import_onnxruntime()
        path = Path(model_path)
        requested_device = torch.device(device)
        providers = select_execution_providers(
            requested_device,
            ort.get_available_providers(),
            execution_providers,
            trt_engine_cache_dir=trt_engine_cache_dir_for(path) if default_trt_options else None,
        )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if intra_op_num_threads is not None:
            if intra_op_num_threads < 1:
                raise InvalidParameterError(f"intra_op_num_threads must be >= 1, not {intra_op_num_threads}.")
            options.intra_op_num_threads = intra_op_num_threads
        try:
            self.session: onnxruntime.InferenceSession = ort.InferenceSession(
                str(path), sess_options=options, providers=providers
            )
        except Exception as error:  # onnxruntime raises its own exception types for unreadable graphs
            raise CorruptedModelPackageError(f"ONNX Runtime cannot load '{path.name}': {error}") from error
        self.providers: list[str] = self.session.get_providers()
        on_gpu = self.providers[0] in _GPU_PROVIDERS
        self.device = requested_device if on_gpu else torch.device("cpu")
        if requested_device.type == "cuda" and not on_gpu:
            logger.warning("CUDA was requested but ONNX Runtime runs '%s' on the CPU.", path.name)
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise CorruptedModelPackageError(
                f"'{path.name}' has {len(inputs)} inputs; this runner feeds exactly one image tensor."
            )
        self._input = inputs[0]
        self.input_shape = tuple(d if isinstance(d, int) else None for d in self._input.shape)
        self.input_dtype: torch.dtype = getattr(torch, _ORT_TO_TORCH_DTYPES.get(self._input.type, "float32"))
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.metadata: Mapping[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, batch: torch.Tensor) -> list[torch.Tensor]:
        import torch

        # ONNX Runtime takes host memory; for GPU providers it copies the batch to the device itself.
        array = np.ascontiguousarray(batch.detach().to(dtype=self.input_dtype).cpu().numpy())
        outputs = self.session.run(self.output_names, {self._input.name: array})
        return [torch.from_numpy(np.asarray(o)).to(self.device) for o in outputs]
