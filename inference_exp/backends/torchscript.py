"""TorchScript runner."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference_exp.backends.base import Runner
from inference_exp.errors import CorruptedModelPackageError, ModelRuntimeError

if TYPE_CHECKING:
    import torch

# Extra files exporters embed in TorchScript archives (Ultralytics and YOLOv5 write config.txt).
METADATA_FILES = ("config.txt",)


class TorchScriptRunner(Runner):
    """Runs a TorchScript module on CPU or CUDA.

    TorchScript archives are loaded by TorchScript's own loader, which rebuilds the serialised graph without
    importing arbitrary Python objects (unlike ``torch.load`` of a pickled checkpoint).
    """

    def __init__(self, model_path: str | Path, *, device: str = "cpu", input_shape: Sequence[int | None] | None = None) -> None:
        """Load the module.

        Args:
            model_path: the TorchScript file.
            device: ``cpu`` or ``cuda[:N]``.
            input_shape: the network input ``(batch, channels, height, width)`` when known from the package
                (TorchScript does not record it); ``None`` entries are dynamic.
        """
        import torch

        path = Path(model_path)
        self.device = torch.device(device)
        extra_files = dict.fromkeys(METADATA_FILES, "")
        try:
            with warnings.catch_warnings():
                # torch >= 2.9 flags TorchScript as deprecated; the archives users have are still TorchScript.
                warnings.simplefilter("ignore", DeprecationWarning)
                self.module = torch.jit.load(str(path), map_location=self.device, _extra_files=extra_files)
        except Exception as error:  # torch raises RuntimeError/ValueError variants for bad archives
            raise CorruptedModelPackageError(f"'{path.name}' is not a loadable TorchScript archive: {error}") from error
        self.module.eval()
        self.metadata: Mapping[str, str] = {
            name: content.decode() if isinstance(content, bytes) else content
            for name, content in extra_files.items()
            if content
        }
        self.input_shape = tuple(input_shape) if input_shape is not None else (None, 3, None, None)
        self._dtype = _parameter_dtype(self.module)

    def embedded_config(self) -> dict[str, Any] | None:
        """The JSON an exporter stored in ``config.txt`` (Ultralytics: task, names, imgsz, …), if any."""
        raw = self.metadata.get("config.txt")
        if not raw:
            return None
        try:
            config = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return config if isinstance(config, dict) else None

    def __call__(self, batch: torch.Tensor) -> list[torch.Tensor]:
        import torch

        with torch.inference_mode():
            try:
                output = self.module(batch.to(device=self.device, dtype=self._dtype))
            except RuntimeError as error:
                raise ModelRuntimeError(
                    f"TorchScript model failed on a batch of shape {tuple(batch.shape)}: {error}",
                    hint="Check that the input size and batch size match what the model was exported with.",
                ) from error
        return _flatten(output)


def _parameter_dtype(module: Any) -> torch.dtype:
    import torch

    for parameter in module.parameters():
        if parameter.is_floating_point():
            return parameter.dtype
    return torch.float32


def _flatten(output: Any) -> list[torch.Tensor]:
    """Outputs in order, whatever nesting of tuples/lists/dicts the module returns."""
    import torch

    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        return [t for value in output.values() for t in _flatten(value)]
    if isinstance(output, (list, tuple)):
        return [t for value in output for t in _flatten(value)]
    raise ModelRuntimeError(f"TorchScript model returned {type(output).__name__}; expected tensors.")
