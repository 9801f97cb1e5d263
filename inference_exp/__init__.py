"""inference-exp: load a computer-vision model by id or path and run it on the fastest backend available.

>>> from inference_exp import AutoModel
>>> model = AutoModel.from_pretrained("workspace/project/3")        # or a local package directory / file
>>> detections = model(image)                                         # numpy BGR, torch RGB, paths, lists

Everything importable from here is public API; other modules are internal. Names are resolved lazily so
that ``import inference_exp`` stays fast: torch, onnxruntime and friends load only when a model needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AutoModel": "inference_exp.auto_model",
    "describe_compute_environment": "inference_exp.runtime",
    "RuntimeEnvironment": "inference_exp.runtime.environment",
    "BackendType": "inference_exp.packages.types",
    "Quantization": "inference_exp.packages.types",
    "ColorFormat": "inference_exp.inputs",
    "Detections": "inference_exp.entities",
    "InstanceDetections": "inference_exp.entities",
    "KeyPoints": "inference_exp.entities",
    "ClassificationPrediction": "inference_exp.entities",
    "MultiLabelClassificationPrediction": "inference_exp.entities",
    "SemanticSegmentationResult": "inference_exp.entities",
    "Embeddings": "inference_exp.entities",
    "TextDetections": "inference_exp.entities",
    "OCRResult": "inference_exp.entities",
    "OCRPipeline": "inference_exp.models.ppocr",
    "errors": "inference_exp.errors",
}

__all__ = [
    "AutoModel",
    "BackendType",
    "ClassificationPrediction",
    "ColorFormat",
    "Detections",
    "Embeddings",
    "InstanceDetections",
    "KeyPoints",
    "MultiLabelClassificationPrediction",
    "OCRPipeline",
    "OCRResult",
    "Quantization",
    "RuntimeEnvironment",
    "SemanticSegmentationResult",
    "TextDetections",
    "__version__",
    "describe_compute_environment",
    "errors",
]

if TYPE_CHECKING:
    from inference_exp import errors
    from inference_exp.auto_model import AutoModel
    from inference_exp.entities import (
        ClassificationPrediction,
        Detections,
        Embeddings,
        InstanceDetections,
        KeyPoints,
        MultiLabelClassificationPrediction,
        OCRResult,
        SemanticSegmentationResult,
        TextDetections,
    )
    from inference_exp.inputs import ColorFormat
    from inference_exp.models.ppocr import OCRPipeline
    from inference_exp.packages.types import BackendType, Quantization
    from inference_exp.runtime import describe_compute_environment
    from inference_exp.runtime.environment import RuntimeEnvironment


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'inference_exp' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name == "errors" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
