"""COCO RLE: round trips, and agreement with the reference implementations (pycocotools, supervision)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inference_exp.integrations.coco_rle import (
    compress_counts,
    decode_mask,
    decompress_counts,
    encode_mask,
    run_lengths,
)

masks = st.tuples(st.integers(1, 40), st.integers(1, 40)).flatmap(
    lambda shape: arrays(np.bool_, shape, elements=st.booleans())
)


def _blobs(seed: int, height: int = 120, width: int = 90) -> np.ndarray:
    """A mask with long runs (several rectangles), the shape instance masks have."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(4):
        y, x = rng.integers(0, height), rng.integers(0, width)
        mask[y : y + rng.integers(1, height), x : x + rng.integers(1, width)] = True
    return mask


def test_the_documented_example_and_column_major_order():
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, 1:3] = True
    assert run_lengths(mask) == [5, 2, 2, 2, 5]
    assert encode_mask(mask) == {"size": [4, 4], "counts": "52203"}
    tall = np.array([[True, False], [True, False], [False, True]])  # column-major: T T F | F F T
    assert run_lengths(tall) == [0, 2, 3, 1]


def test_runs_start_with_background_and_cover_every_pixel():
    assert run_lengths(np.ones((3, 5), dtype=bool)) == [0, 15]
    assert run_lengths(np.zeros((3, 5), dtype=bool)) == [15]
    empty = encode_mask(np.zeros((0, 7), dtype=bool))
    assert empty["size"] == [0, 7] and decode_mask(empty).shape == (0, 7)


@settings(max_examples=200, deadline=None)
@given(masks)
def test_round_trip(mask):
    rle = encode_mask(mask)
    assert rle["size"] == list(mask.shape)
    np.testing.assert_array_equal(decode_mask(rle), mask)
    runs = run_lengths(mask)
    assert decompress_counts(rle["counts"]) == runs
    np.testing.assert_array_equal(decode_mask({"size": rle["size"], "counts": runs}), mask)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1), max_size=30))
def test_count_strings_round_trip_any_counts(counts):
    """Large runs and large negative differences (a long run two places before a short one)."""
    assert decompress_counts(compress_counts(counts)) == counts


@pytest.mark.parametrize("seed", range(8))
def test_matches_supervision(seed):
    sv = pytest.importorskip("supervision")
    mask = _blobs(seed)
    rle = encode_mask(mask)
    assert rle["counts"] == sv.mask_to_rle(mask, compressed=True)
    assert run_lengths(mask) == [int(v) for v in sv.mask_to_rle(mask)]
    np.testing.assert_array_equal(sv.rle_to_mask(rle["counts"], (mask.shape[1], mask.shape[0])), mask)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools vs numpy 2
def test_matches_pycocotools(seed):
    coco = pytest.importorskip("pycocotools.mask")
    mask = _blobs(seed)
    reference = coco.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle = encode_mask(mask)
    assert rle["counts"] == reference["counts"].decode("ascii")
    assert rle["size"] == list(reference["size"])
    np.testing.assert_array_equal(coco.decode({"size": rle["size"], "counts": rle["counts"].encode()}), mask)
    np.testing.assert_array_equal(decode_mask(reference), mask)  # bytes counts as pycocotools returns them


def test_invalid_input_is_refused():
    with pytest.raises(ValueError, match="2-D"):
        encode_mask(np.zeros((2, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match="cover"):
        decode_mask({"size": [2, 2], "counts": [1, 2]})
    with pytest.raises(ValueError, match="not a character"):
        decompress_counts("5 2")
    with pytest.raises(ValueError, match="middle"):
        decompress_counts("5" + chr(48 + 0x20))
