"""Vector representations of images or texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from inference_exp.entities._arrays import to_numpy

if TYPE_CHECKING:
    import torch


@dataclass(eq=False)
class Embeddings:
    """Embeddings of a batch of images or texts.

    ``supervision`` has no embedding type, so unlike the other entities this one has no
    ``to_supervision()``; use :meth:`to_numpy` or :meth:`similarity`.

    Attributes:
        embeddings: ``(B, D)`` float32, one row per input.
        kind: what was embedded, ``"image"`` or ``"text"``.
        metadata: one free-form dict per input.
    """

    embeddings: torch.Tensor
    kind: Literal["image", "text"] = "image"
    metadata: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The fields as numpy arrays: ``embeddings``."""
        return {"embeddings": to_numpy(self.embeddings)}

    def similarity(self, other: Embeddings) -> torch.Tensor:
        """``(len(self), len(other))`` cosine similarities."""
        import torch.nn.functional as F

        a = F.normalize(self.embeddings.float(), dim=-1)
        b = F.normalize(other.embeddings.float().to(a.device), dim=-1)
        return a @ b.T
