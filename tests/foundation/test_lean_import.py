"""``import inference_exp`` must not pull heavy libraries; they load when a model needs them."""

import subprocess
import sys

HEAVY = ("torch", "cv2", "onnxruntime", "transformers", "tensorrt", "requests", "pydantic", "supervision")


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    return set(filter(None, out.split(",")))


def test_import_loads_no_heavy_library():
    assert _imported_after("import inference_exp") == set()


def test_automodel_import_loads_no_runtime():
    assert _imported_after("from inference_exp import AutoModel") & {"torch", "transformers", "onnxruntime", "cv2"} == set()


def test_entities_and_errors_load_without_torch():
    assert _imported_after("from inference_exp import Detections, errors") == set()


def test_public_names_resolve():
    import inference_exp

    for name in ("Detections", "InstanceDetections", "KeyPoints", "ClassificationPrediction", "errors", "BackendType"):
        assert getattr(inference_exp, name) is not None
    assert "AutoModel" in dir(inference_exp)


def test_all_lists_exactly_the_lazy_exports():
    import inference_exp

    assert set(inference_exp.__all__) == set(inference_exp._EXPORTS) | {"__version__"}
