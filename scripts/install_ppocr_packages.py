#!/usr/bin/env python3
"""Install PaddleOCR's PP-OCRv4 text detector and recogniser into the inference-exp model cache, offline.

The ONNX weights come from the installed ``rapidocr_onnxruntime`` wheel (Apache-2.0), which is located with
``importlib.util.find_spec`` and never imported. For each model the script writes the package files
(``inference_config.json`` plus ``class_names.txt`` for the detector, ``characters.txt`` — taken from the
recogniser's ONNX metadata key ``character`` — for the recogniser), describes the package (one trusted ONNX
package, every file with its MD5) and hands it to ``ModelCache.install_package``. Afterwards
``AutoModel.from_pretrained("pp-ocrv4-det")`` (and ``"pp-ocrv4-rec"``) loads without any network.

Running it again is harmless: unchanged packages are kept, changed ones replaced.

    pip install --no-deps rapidocr_onnxruntime==1.4.4
    python scripts/install_ppocr_packages.py [--cache-root DIR]      # default: INFERENCE_HOME
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from inference_exp.cache import ModelCache
from inference_exp.errors import InferenceExpError
from inference_exp.models.ppocr.package import (
    CHARACTERS_FILE,
    detection_inference_config,
    recognition_inference_config,
)
from inference_exp.packages.manifests import ModelMetadata, ModelPackage, OnnxManifest, PackageFile
from inference_exp.packages.package_files import CLASS_NAMES_FILE, INFERENCE_CONFIG_FILE
from inference_exp.packages.types import Quantization
from inference_exp.utils.imports import require

WHEEL = "rapidocr_onnxruntime"
DETECTION_WEIGHTS = "models/ch_PP-OCRv4_det_infer.onnx"
RECOGNITION_WEIGHTS = "models/ch_PP-OCRv4_rec_infer.onnx"
CHARACTER_METADATA_KEY = "character"
WEIGHTS_FILE = "weights.onnx"


@dataclass(frozen=True)
class InstalledModel:
    """What :func:`install` put into the cache for one model."""

    model_id: str
    metadata: ModelMetadata
    package_dir: Path


def wheel_directory() -> Path:
    """The directory of the installed ``rapidocr_onnxruntime`` package (found, not imported).

    Raises:
        MissingDependencyError: the wheel is not installed.
    """
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or not spec.submodule_search_locations:
        raise InferenceExpError(
            f"The {WHEEL} wheel is not installed; its ONNX files are the PP-OCRv4 weights.",
            hint=f"Install it without its dependencies: pip install --no-deps {WHEEL}==1.4.4",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def characters_from_onnx(weights: Path) -> list[str]:
    """The recogniser's character dictionary, from the ``character`` metadata of its ONNX graph."""
    onnxruntime = require("onnxruntime", needed_for="Reading the PP-OCR character dictionary", extra="onnx-cpu")
    session = onnxruntime.InferenceSession(str(weights), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    if CHARACTER_METADATA_KEY not in metadata:
        raise InferenceExpError(f"{weights} has no {CHARACTER_METADATA_KEY!r} metadata; is it a PP-OCR recogniser?")
    return metadata[CHARACTER_METADATA_KEY].rstrip("\n").split("\n")


def onnx_opset(weights: Path) -> int:
    """The default-domain opset the graph was exported with."""
    onnx = require("onnx", needed_for="Reading the opset of the PP-OCR graphs", package="onnx")
    model = onnx.load(str(weights), load_external_data=False)
    return next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_package(model_id: str, architecture: str, task: str, sources: dict[str, Path]) -> ModelMetadata:
    """One trusted, dynamic-batch fp32 ONNX package holding ``sources`` (file handle → local file)."""
    package = ModelPackage(
        package_id=architecture.replace("-", "") + "onnx",
        manifest=OnnxManifest(dynamic_batch_size=True, quantization=Quantization.FP32, opset=onnx_opset(sources[WEIGHTS_FILE])),
        files=tuple(PackageFile(file_handle=name, md5_hash=_md5(path)) for name, path in sorted(sources.items())),
        trusted_source=True,
    )
    return ModelMetadata(model_id=model_id, model_architecture=architecture, task_type=task, packages=(package,))


def install(
    cache_root: str | Path | None = None,
    *,
    detector_id: str = "pp-ocrv4-det",
    recognizer_id: str = "pp-ocrv4-rec",
) -> list[InstalledModel]:
    """Install the detector and the recogniser of the installed wheel into the cache at ``cache_root``."""
    wheel = wheel_directory()
    det_weights, rec_weights = wheel / DETECTION_WEIGHTS, wheel / RECOGNITION_WEIGHTS
    for weights in (det_weights, rec_weights):
        if not weights.is_file():
            raise InferenceExpError(f"{weights} is missing: the installed {WHEEL} wheel is not the expected 1.4.x.")
    cache = ModelCache(cache_root)
    installed = []
    with tempfile.TemporaryDirectory(prefix="ppocr-packages-") as staging:
        files = Path(staging)
        (files / "det").mkdir()
        (files / "rec").mkdir()
        (files / "det" / INFERENCE_CONFIG_FILE).write_text(json.dumps(detection_inference_config(), indent=2) + "\n")
        (files / "det" / CLASS_NAMES_FILE).write_text("text\n")
        (files / "rec" / INFERENCE_CONFIG_FILE).write_text(json.dumps(recognition_inference_config(), indent=2) + "\n")
        characters = characters_from_onnx(rec_weights)
        (files / "rec" / CHARACTERS_FILE).write_text("\n".join(characters) + "\n", encoding="utf-8")
        models = (
            (detector_id, "pp-ocrv4-det", "object-detection", det_weights, files / "det"),
            (recognizer_id, "pp-ocrv4-rec", "text-only-ocr", rec_weights, files / "rec"),
        )
        for model_id, architecture, task, weights, directory in models:
            sources = {WEIGHTS_FILE: weights, **{path.name: path for path in directory.iterdir()}}
            metadata = describe_package(model_id, architecture, task, sources)
            package_dir = cache.install_package(metadata, sources)
            installed.append(InstalledModel(model_id=model_id, metadata=metadata, package_dir=package_dir))
    return installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-root", help="model cache root (default: INFERENCE_HOME or ~/.cache/inference-exp)")
    parser.add_argument("--detector-id", default="pp-ocrv4-det", help="model id of the text detector")
    parser.add_argument("--recognizer-id", default="pp-ocrv4-rec", help="model id of the text recogniser")
    args = parser.parse_args(argv)
    try:
        installed = install(args.cache_root, detector_id=args.detector_id, recognizer_id=args.recognizer_id)
    except InferenceExpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for model in installed:
        [package] = model.metadata.packages
        print(
            f"{model.model_id}: {model.metadata.model_architecture} / {model.metadata.task_type}, package "
            f"{package.package_id} (onnx, opset {package.manifest.opset}) at {model.package_dir}"  # type: ignore[union-attr]
        )
        for file in package.files:
            size = (model.package_dir / file.file_handle).stat().st_size
            print(f"    {file.file_handle:<24} {size:>10,} bytes  md5 {file.md5_hash}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
