"""Run a backend on a batch in chunks that fit its batch constraints, and join the outputs.

Backends differ in what batch sizes they take: a static batch size (TorchScript exports, static ONNX graphs,
static TensorRT engines: exactly ``N`` images per call), a dynamic range (TensorRT profiles: between ``min`` and
``max``), or a dynamic maximum (``max_dynamic_batch_size``). :func:`plan_chunks` splits ``n`` images into chunks;
a chunk smaller than the required minimum is zero-padded and the padding's outputs dropped.
:func:`run_in_chunks` does all of it for any callable on a tensor (or numpy array).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from inference_exp.errors import InvalidParameterError

Array = TypeVar("Array")


@dataclass(frozen=True)
class Chunk:
    """Images ``start:stop`` of the batch, sent as a batch of ``size`` (``size - real`` zero images appended)."""

    start: int
    stop: int
    size: int

    @property
    def real(self) -> int:
        """How many of the chunk's images are real."""
        return self.stop - self.start


def plan_chunks(
    count: int,
    *,
    static_batch_size: int | None = None,
    max_batch_size: int | None = None,
    min_batch_size: int | None = None,
) -> list[Chunk]:
    """Split ``count`` images into chunks.

    Args:
        count: number of images.
        static_batch_size: every chunk holds exactly this many (the last one padded).
        max_batch_size: chunks hold at most this many (``None``: no limit).
        min_batch_size: chunks smaller than this are padded up to it.
    """
    if static_batch_size is not None:
        if max_batch_size is not None or min_batch_size is not None:
            raise InvalidParameterError("static_batch_size excludes max_batch_size and min_batch_size")
        max_batch_size = min_batch_size = static_batch_size
    for name, value in (("max_batch_size", max_batch_size), ("min_batch_size", min_batch_size)):
        if value is not None and value < 1:
            raise InvalidParameterError(f"{name} must be >= 1, got {value}")
    if max_batch_size is not None and min_batch_size is not None and min_batch_size > max_batch_size:
        raise InvalidParameterError(f"min_batch_size {min_batch_size} exceeds max_batch_size {max_batch_size}")
    step = max_batch_size or max(count, 1)
    chunks = []
    for start in range(0, count, step):
        stop = min(start + step, count)
        chunks.append(Chunk(start, stop, max(stop - start, min_batch_size or 0)))
    return chunks


def run_in_chunks(
    run: Callable[[Array], Any],
    batch: Array,
    *,
    static_batch_size: int | None = None,
    max_batch_size: int | None = None,
    min_batch_size: int | None = None,
) -> Any:
    """``run`` over ``batch`` (a torch tensor or numpy array, batch axis first) in chunks, outputs joined.

    ``run`` returns one array or a list/tuple of arrays whose first axis is the batch; padded rows are dropped
    and each output is concatenated over the chunks (returned in the same kind of container).
    """
    chunks = plan_chunks(
        len(batch),  # type: ignore[arg-type]
        static_batch_size=static_batch_size,
        max_batch_size=max_batch_size,
        min_batch_size=min_batch_size,
    )
    if not chunks:
        raise InvalidParameterError("run_in_chunks got an empty batch")
    if len(chunks) == 1 and chunks[0].size == chunks[0].real:
        return run(batch)
    joined: list[list[Any]] = []
    container: type | None = None
    for chunk in chunks:
        outputs = run(_padded(batch[chunk.start : chunk.stop], chunk.size))  # type: ignore[index]
        container = type(outputs) if isinstance(outputs, (list, tuple)) else None
        parts = [outputs] if container is None else list(outputs)
        joined = joined or [[] for _ in parts]
        for collected, part in zip(joined, parts, strict=True):
            collected.append(part[: chunk.real])
    results = [_concatenate(parts) for parts in joined]
    return results[0] if container is None else container(results)


def _padded(rows: Any, size: int) -> Any:
    missing = size - len(rows)
    if missing <= 0:
        return rows
    if isinstance(rows, np.ndarray):
        return np.concatenate([rows, np.zeros((missing, *rows.shape[1:]), dtype=rows.dtype)])
    import torch

    return torch.cat([rows, rows.new_zeros((missing, *rows.shape[1:]))])


def _concatenate(parts: Sequence[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    import torch

    return torch.cat(list(parts))
