"""The interface every backend runner implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class Runner(ABC):
    """Runs a network on a batch.

    Attributes:
        device: where outputs are returned (and where inputs are best placed).
        input_shape: the network input's ``(batch, channels, height, width)``; ``None`` for dynamic axes.
        metadata: string metadata embedded in the artefact (ONNX ``metadata_props``, TorchScript extra files).
    """

    device: torch.device
    input_shape: tuple[int | None, ...]
    metadata: Mapping[str, str]

    @property
    def static_batch_size(self) -> int | None:
        """The batch size the network requires, or ``None`` when its batch axis is dynamic."""
        batch = self.input_shape[0] if self.input_shape else None
        return batch if isinstance(batch, int) and batch > 0 else None

    @property
    def input_hw(self) -> tuple[int, int] | None:
        """The fixed ``(height, width)`` of the input, or ``None`` when either axis is dynamic."""
        if len(self.input_shape) != 4:
            return None
        height, width = self.input_shape[2], self.input_shape[3]
        return (height, width) if isinstance(height, int) and isinstance(width, int) else None

    @abstractmethod
    def __call__(self, batch: torch.Tensor) -> list[torch.Tensor]:
        """Run the network on an NCHW float batch; returns its outputs in graph order, on :attr:`device`."""
