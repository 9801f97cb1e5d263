"""Chunking a batch for a backend's batch constraints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_exp.errors import InvalidParameterError
from inference_exp.processing import Chunk, plan_chunks, run_in_chunks


def test_plans():
    assert plan_chunks(5) == [Chunk(0, 5, 5)]
    assert plan_chunks(5, static_batch_size=2) == [Chunk(0, 2, 2), Chunk(2, 4, 2), Chunk(4, 5, 2)]
    assert plan_chunks(5, max_batch_size=4) == [Chunk(0, 4, 4), Chunk(4, 5, 1)]
    assert plan_chunks(5, max_batch_size=4, min_batch_size=2) == [Chunk(0, 4, 4), Chunk(4, 5, 2)]
    assert plan_chunks(1, min_batch_size=3) == [Chunk(0, 1, 3)]
    assert [c.real for c in plan_chunks(5, static_batch_size=2)] == [2, 2, 1]
    for bad in ({"static_batch_size": 2, "max_batch_size": 4}, {"max_batch_size": 0},
                {"min_batch_size": 3, "max_batch_size": 2}):
        with pytest.raises(InvalidParameterError):
            plan_chunks(5, **bad)


def test_static_batch_backend_sees_padded_chunks_and_results_are_trimmed():
    seen: list[tuple[int, ...]] = []

    def backend(chunk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seen.append(tuple(chunk.shape))
        assert chunk.shape[0] == 4  # exactly the static size, zero-padded
        return chunk.sum(dim=(1, 2)), chunk[:, :1] * 2

    batch = torch.arange(1, 11, dtype=torch.float32).reshape(10, 1, 1).expand(10, 2, 3).contiguous()
    sums, doubled = run_in_chunks(backend, batch, static_batch_size=4)
    assert seen == [(4, 2, 3)] * 3
    assert torch.equal(sums, batch.sum(dim=(1, 2))) and torch.equal(doubled, batch[:, :1] * 2)


def test_dynamic_maximum_single_output_and_numpy():
    calls: list[int] = []

    def backend(chunk: np.ndarray) -> np.ndarray:
        calls.append(len(chunk))
        return chunk * 10

    batch = np.arange(7, dtype=np.float32)[:, None]
    out = run_in_chunks(backend, batch, max_batch_size=3)
    assert calls == [3, 3, 1] and np.array_equal(out, batch * 10)
    calls.clear()
    assert np.array_equal(run_in_chunks(backend, batch), batch * 10) and calls == [7]
    with pytest.raises(InvalidParameterError):
        run_in_chunks(backend, batch[:0], max_batch_size=3)


def test_list_outputs_stay_lists():
    out = run_in_chunks(lambda chunk: [chunk + 1], torch.zeros((3, 2)), max_batch_size=2)
    assert isinstance(out, list) and torch.equal(out[0], torch.ones((3, 2)))
