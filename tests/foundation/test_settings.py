from pathlib import Path

import pytest

from inference_exp import settings
from inference_exp.errors import InvalidEnvironmentVariableError


def test_cache_root_prefers_inference_home(monkeypatch, tmp_path):
    monkeypatch.setenv("INFERENCE_HOME", str(tmp_path / "root"))
    assert settings.cache_root() == tmp_path / "root"


def test_cache_root_defaults_to_a_per_user_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("INFERENCE_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert settings.cache_root() == tmp_path / "inference-exp"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert settings.cache_root() == Path.home() / ".cache" / "inference-exp"


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("TRUE", True), ("1", True), ("off", False), ("False", False)])
def test_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("OFFLINE_MODE", raw)
    assert settings.offline_mode() is expected


def test_bad_boolean_is_a_typed_error(monkeypatch):
    monkeypatch.setenv("OFFLINE_MODE", "maybe")
    with pytest.raises(InvalidEnvironmentVariableError, match="OFFLINE_MODE='maybe' is not a boolean"):
        settings.offline_mode()


def test_numbers_are_checked(monkeypatch):
    monkeypatch.setenv("X_TIMEOUT", "abc")
    with pytest.raises(InvalidEnvironmentVariableError, match="is not a number"):
        settings.env_float("X_TIMEOUT", 5.0)
    monkeypatch.setenv("X_TIMEOUT", "-1")
    with pytest.raises(InvalidEnvironmentVariableError, match="at least 0"):
        settings.env_float("X_TIMEOUT", 5.0, minimum=0)
    monkeypatch.setenv("X_TRIES", "4")
    assert settings.env_int("X_TRIES", 3, minimum=1) == 4


def test_provider_list_tolerates_brackets_and_quotes(monkeypatch):
    monkeypatch.setenv("ONNXRUNTIME_EXECUTION_PROVIDERS", "['CUDAExecutionProvider', 'CPUExecutionProvider']")
    assert settings.onnx_execution_providers() == ("CUDAExecutionProvider", "CPUExecutionProvider")
    monkeypatch.delenv("ONNXRUNTIME_EXECUTION_PROVIDERS")
    assert settings.onnx_execution_providers()[-1] == "CPUExecutionProvider"


def test_api_key_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("ROBOFLOW_API_KEY", "from-env")
    assert settings.api_key("explicit") == "explicit"
    assert settings.api_key(None) == "from-env"
