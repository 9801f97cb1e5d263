"""Conversions shared by the prediction entities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from inference_exp.utils.imports import require

if TYPE_CHECKING:
    import torch


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A numpy copy (or view, on CPU) of ``tensor``, detached from autograd."""
    return tensor.detach().cpu().numpy()


def check_leading_dim(owner: str, length: int, **tensors: torch.Tensor | None) -> None:
    """Raise ``ValueError`` unless every given tensor has ``length`` rows."""
    for name, tensor in tensors.items():
        if tensor is not None and (tensor.ndim == 0 or tensor.shape[0] != length):
            raise ValueError(f"{owner}.{name} has shape {tuple(tensor.shape)}; expected {length} rows")


def names_for(class_ids: np.ndarray, class_names: Sequence[str] | None) -> list[str]:
    """Class names for ``class_ids`` (``str(id)`` where the model has no name for an id)."""
    if class_names is None:
        return [str(int(i)) for i in class_ids]
    return [class_names[i] if 0 <= i < len(class_names) else str(int(i)) for i in class_ids.tolist()]


def supervision() -> Any:
    """The ``supervision`` module, or a :class:`MissingDependencyError` naming the extra."""
    return require("supervision", needed_for="Converting predictions with .to_supervision()", extra="supervision")


def jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with tuples and arrays turned into lists, so that ``json.dumps`` accepts it."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
