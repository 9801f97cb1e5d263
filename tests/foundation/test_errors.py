import pytest

from inference_exp import errors
from inference_exp.utils.secrets import mask_secret, redact, register_secret


def test_every_error_derives_from_the_root_and_carries_a_hint():
    leaf_classes = [
        errors.ModelNotFoundError,
        errors.UnauthorizedModelAccessError,
        errors.ForbiddenModelAccessError,
        errors.CorruptedModelPackageError,
        errors.UntrustedPackageError,
        errors.OfflineModelNotCachedError,
        errors.DownloadError,
        errors.HashMismatchError,
        errors.InvalidParameterError,
    ]
    for cls in leaf_classes:
        error = cls("something happened.")
        assert isinstance(error, errors.InferenceExpError)
        assert error.message == "something happened."
        assert error.hint, f"{cls.__name__} has no default hint"
        assert str(error) == f"{error.message} {error.hint}"


def test_missing_dependency_names_the_extra_and_is_an_import_error():
    error = errors.MissingDependencyError("onnxruntime", needed_for="Running ONNX models", extra="onnx-cpu")
    assert isinstance(error, ImportError)
    assert "pip install 'inference-exp[onnx-cpu]'" in str(error)
    assert "Running ONNX models needs the Python package 'onnxruntime'" in str(error)
    assert error.extra == "onnx-cpu"


def test_invalid_input_names_the_item():
    error = errors.InvalidInputError("has dtype float64", item=3)
    assert str(error).startswith("images[3]: has dtype float64")
    assert error.item == 3
    assert isinstance(error, ValueError)


def test_no_packages_error_aggregates_reasons_most_frequent_first_and_names_extras():
    error = errors.NoModelPackagesAvailableError(
        "acme/4",
        {
            "a": ["TensorRT is not installed"],
            "b": ["TensorRT is not installed"],
            "c": ["quantization int8 not in allowed set fp32, fp16"],
        },
        suggested_extras=["trt10", "trt10"],
    )
    lines = error.message.splitlines()
    assert lines[0].startswith("No package of model 'acme/4'")
    assert lines[1] == "  * 2 packages: TensorRT is not installed"
    assert lines[2] == "  * 1 package: quantization int8 not in allowed set fp32, fp16"
    assert error.suggested_extras == ["trt10"]
    assert "inference-exp[trt10]" in error.hint
    assert error.rejections["c"] == ["quantization int8 not in allowed set fp32, fp16"]


def test_alternatives_exhausted_lists_each_package_error():
    error = errors.ModelPackageAlternativesExhaustedError(
        "m/1", {"p1": errors.CorruptedModelPackageError("weights.onnx is missing.")}
    )
    assert "p1: CorruptedModelPackageError: weights.onnx is missing." in str(error)
    assert isinstance(error.errors["p1"], errors.CorruptedModelPackageError)


def test_registered_secrets_are_masked_in_error_text():
    key = "sk_live_0123456789abcdefXYZW"
    register_secret(key)
    error = errors.ModelRetrievalError(f"GET https://api.example.com/x?api_key={key} failed", hint=f"key {key}")
    assert key not in str(error)
    assert mask_secret(key) == "***XYZW"
    assert "***XYZW" in str(error)
    assert redact(f"a {key} b {key}") == "a ***XYZW b ***XYZW"


def test_short_secrets_are_fully_masked():
    assert mask_secret("abcdef") == "***"


@pytest.mark.parametrize("cls", [errors.UnknownBackendTypeError, errors.InvalidRequestedBatchSizeError])
def test_parameter_errors_are_value_errors(cls):
    with pytest.raises(ValueError):
        raise cls("bad value.")
