"""The newest ONNX opset each onnxruntime release implements (from onnxruntime's version matrix).

onnxruntime runs every opset from 7 up to the one it implements. Releases newer than the table are assumed
to implement at least the newest row's opset (a conservative floor: newer releases only add opsets); extend
the table when a release adds one. Releases older than the table are unknown and treated as unsupported.
"""

from __future__ import annotations

from inference_exp.runtime.versions import major_minor

# (major, minor) of onnxruntime → highest ONNX opset it implements.
MAX_OPSET_BY_ONNXRUNTIME: dict[tuple[int, int], int] = {
    (1, 10): 15,
    (1, 11): 16,
    (1, 12): 17,
    (1, 13): 17,
    (1, 14): 18,
    (1, 15): 19,
    (1, 16): 19,
    (1, 17): 20,
    (1, 18): 21,
    (1, 19): 21,
    (1, 20): 21,
    (1, 21): 22,
    (1, 22): 23,
    (1, 23): 23,
}
OLDEST_KNOWN = min(MAX_OPSET_BY_ONNXRUNTIME)
NEWEST_KNOWN = max(MAX_OPSET_BY_ONNXRUNTIME)


def max_supported_opset(onnxruntime_version: str) -> int | None:
    """The highest opset ``onnxruntime_version`` runs; ``None`` when the version is unparsable or older than the table."""
    release = major_minor(onnxruntime_version)
    if release is None or release < OLDEST_KNOWN:
        return None
    # The table has a row for every minor release in its span, so clamping to the newest row is enough.
    return MAX_OPSET_BY_ONNXRUNTIME[min(release, NEWEST_KNOWN)]
