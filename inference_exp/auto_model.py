"""``AutoModel``: load a model by id or local path on the best package this machine can run.

The path from argument to model::

    source   = local_model_source(path) | roboflow_model_source(model_id)   # metadata + how to fetch/load
    decision = negotiate(source.metadata, request, environment=...)       # ranked candidates + all reasons
    for package in decision.candidates:                                   # best first, with fallback
        directory = source.materialise(package)
        model = source.model_class(package).from_pretrained(directory, LoadOptions(...))

The loaded model carries ``model.negotiation`` (the :class:`NegotiationDecision`, printable) and
``model.loaded_package`` (:class:`LoadedPackage`: which package was loaded from where, with which options).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inference_exp.errors import InvalidParameterError, ModelPackageAlternativesExhaustedError
from inference_exp.models.base import LoadOptions, Model
from inference_exp.negotiation import NegotiationDecision, NegotiationRequest, evaluate_packages, negotiate
from inference_exp.packages.manifests import ModelPackage
from inference_exp.runtime import RuntimeEnvironment, format_environment
from inference_exp.runtime import describe_compute_environment as _describe_compute_environment
from inference_exp.utils.logging import get_logger
from inference_exp.weights_providers import ModelSource
from inference_exp.weights_providers.local import local_model_source
from inference_exp.weights_providers.remote import roboflow_model_source

_logger = get_logger("auto_model")


@dataclass(frozen=True)
class LoadedPackage:
    """Which package a model was loaded from.

    Attributes:
        model_id: the model id or local path.
        package_id: the loaded package.
        backend: its backend.
        package_dir: the directory it was loaded from.
        options: the options passed to the model class.
        failed_before: packages tried first that failed to load (package id → error text).
    """

    model_id: str
    package_id: str
    backend: str
    package_dir: Path
    options: LoadOptions
    failed_before: Mapping[str, str]


@dataclass(frozen=True)
class _SourceOptions:
    """What ``from_pretrained`` / ``describe_model`` pass on to the weights providers."""

    api_key: str | None = None
    allow_local_code_packages: bool = False
    use_auto_resolution_cache: bool = True
    lock_timeout: float | None = None
    download_files_without_hash: bool = False


def _model_source(
    model_id_or_path: Any,
    request: NegotiationRequest,
    environment: RuntimeEnvironment,
    options: _SourceOptions,
    load_flags: Mapping[str, Any],
) -> ModelSource:
    if not isinstance(model_id_or_path, (str, os.PathLike)) or not os.fspath(model_id_or_path):
        raise InvalidParameterError(
            f"model_id_or_path must be a non-empty model id or path, not {model_id_or_path!r}."
        )
    location = os.fspath(model_id_or_path)
    if os.path.exists(location):  # an existing path always wins over a model id of the same name
        return local_model_source(location, allow_local_code_packages=options.allow_local_code_packages)
    return roboflow_model_source(
        str(location),
        api_key=options.api_key,
        request_fingerprint=_request_fingerprint(str(location), request, load_flags),
        environment=environment,
        use_resolution_cache=options.use_auto_resolution_cache,
        lock_timeout=options.lock_timeout,
        download_files_without_hash=options.download_files_without_hash,
    )


def _request_fingerprint(model_id: str, request: NegotiationRequest, load_flags: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that decides which package a request loads, as JSON (the resolution cache's key)."""
    fields = json.loads(json.dumps(asdict(request), default=str))
    return {"provider": "roboflow", "model_id": model_id, "request": fields, "load": dict(load_flags)}


def _verbose_logger() -> logging.Logger:
    """The logger ``verbose=True`` writes to; it gets a stderr handler when logging is not configured."""
    logger = get_logger("verbose")
    logger.setLevel(logging.INFO)
    if not logger.hasHandlers():
        logger.addHandler(logging.StreamHandler())
    return logger


class AutoModel:
    """Entry point: ``AutoModel.from_pretrained(id_or_path)``; explanations with ``describe_model``."""

    @classmethod
    def from_pretrained(
        cls,
        model_id_or_path: str | os.PathLike[str],
        *,
        api_key: str | None = None,
        backend: Any = None,
        batch_size: int | tuple[int, int] | None = None,
        quantization: Any = None,
        device: Any = None,
        onnx_execution_providers: Any = None,
        model_package_id: str | None = None,
        allow_untrusted_packages: bool = False,
        allow_local_code_packages: bool = False,
        allow_pickled_weights: bool = False,
        trt_engine_host_code_allowed: bool = True,
        nms_fusion_preferences: bool | Mapping[str, Any] | None = None,
        max_package_loading_attempts: int | None = None,
        default_onnx_trt_options: bool = True,
        download_files_without_hash: bool = False,
        use_auto_resolution_cache: bool = True,
        model_download_file_lock_acquire_timeout: float | None = None,
        verbose: bool = False,
        environment: RuntimeEnvironment | None = None,
        **kwargs: Any,
    ) -> Model:
        """Load the best package of a model that runs here.

        Args:
            model_id_or_path: a model id, or the path of a local package directory (an existing path always
                wins over a model id of the same name).
            api_key: key for the weights provider (default ``ROBOFLOW_API_KEY``).
            backend: a backend id (``onnx``, ``trt``, ``torch``, ``torch-script``, ``hugging-face``/``hf``, …),
                or a list of them in order of preference (default order: TensorRT, torch, Hugging Face, ONNX,
                TorchScript).
            batch_size: ``N`` or ``(min, max)`` batch sizes the package must accept.
            quantization: allowed quantization(s), in order of preference (default for CPU: fp32, unknown,
                bf16; for GPUs: fp16, fp32, unknown; int8 only when asked).
            device: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or a ``torch.device`` (default ``DEFAULT_DEVICE``,
                else ``cuda`` when available, else ``cpu``).
            onnx_execution_providers: ONNX Runtime providers in order, names or ``(name, options)``.
            model_package_id: load exactly this package (only the trust check applies).
            allow_untrusted_packages: accept packages not from a trusted source.
            allow_local_code_packages: allow local packages that run their own Python code.
            allow_pickled_weights: allow checkpoints that need full unpickling.
            trt_engine_host_code_allowed: allow TensorRT engines that embed the lean runtime.
            nms_fusion_preferences: ``True`` or constraints to accept packages with NMS fused into the graph.
            max_package_loading_attempts: try at most this many ranked packages (default: all).
            default_onnx_trt_options: give ONNX Runtime's TensorRT provider an engine cache and fp16.
            download_files_without_hash: accept package files for which the weights API declares no MD5.
            use_auto_resolution_cache: for a repeated identical request on this machine (within
                ``AUTO_LOADER_CACHE_EXPIRATION_MINUTES``), reuse the cached decision without calling the API.
            model_download_file_lock_acquire_timeout: seconds to wait for another process's download that
                shows no progress (default ``CACHE_LOCK_TIMEOUT``, 300).
            verbose: log the negotiation table and each loading attempt.
            environment: decide for this machine description instead of detecting it (tests, planning).
            **kwargs: family-specific options, passed to the model class in ``LoadOptions.extra``.

        Raises:
            InvalidParameterError: an argument is malformed (typed subclasses for backend, quantization, batch).
            NoModelPackagesAvailableError: no package can run here; lists every reason and helpful extras.
            ModelPackageAlternativesExhaustedError: several candidates were tried and all failed.
            ModelLoadingError: the only candidate failed (its own typed error, e.g. CorruptedModelPackageError,
                UnsafePackageContentError).
            ModelRetrievalError: the model's metadata could not be obtained.
        """
        request = NegotiationRequest.from_arguments(
            backend=backend,
            batch_size=batch_size,
            quantization=quantization,
            device=device,
            onnx_execution_providers=onnx_execution_providers,
            allow_untrusted_packages=allow_untrusted_packages,
            trt_engine_host_code_allowed=trt_engine_host_code_allowed,
            nms_fusion_preferences=nms_fusion_preferences,
            model_package_id=model_package_id,
        )
        for name, flag in (
            ("allow_local_code_packages", allow_local_code_packages),
            ("allow_pickled_weights", allow_pickled_weights),
            ("default_onnx_trt_options", default_onnx_trt_options),
            ("download_files_without_hash", download_files_without_hash),
            ("use_auto_resolution_cache", use_auto_resolution_cache),
            ("verbose", verbose),
        ):
            if not isinstance(flag, bool):
                raise InvalidParameterError(f"{name} must be True or False, not {flag!r}.")
        if max_package_loading_attempts is not None and (
            not isinstance(max_package_loading_attempts, int)
            or isinstance(max_package_loading_attempts, bool)
            or max_package_loading_attempts < 1
        ):
            raise InvalidParameterError(
                f"max_package_loading_attempts must be a positive int or None, not {max_package_loading_attempts!r}."
            )
        environment = environment if environment is not None else _describe_compute_environment()
        source = _model_source(
            model_id_or_path,
            request,
            environment,
            _SourceOptions(
                api_key=api_key,
                allow_local_code_packages=allow_local_code_packages,
                use_auto_resolution_cache=use_auto_resolution_cache,
                lock_timeout=model_download_file_lock_acquire_timeout,
                download_files_without_hash=download_files_without_hash,
            ),
            load_flags={
                "allow_local_code_packages": allow_local_code_packages,
                "allow_pickled_weights": allow_pickled_weights,
                "default_onnx_trt_options": default_onnx_trt_options,
                "max_package_loading_attempts": max_package_loading_attempts,
                "extra": sorted(kwargs),
            },
        )
        decision = negotiate(source.metadata, request, environment=environment)
        if verbose:
            _verbose_logger().info("%s", decision)
        candidates = decision.candidates[:max_package_loading_attempts]

        def options_for(package: ModelPackage) -> LoadOptions:
            return LoadOptions(
                backend=package.backend,
                device=decision.device,
                onnx_execution_providers=decision.request.onnx_execution_providers,
                default_onnx_trt_options=default_onnx_trt_options,
                trt_engine_host_code_allowed=trt_engine_host_code_allowed,
                allow_pickled_weights=allow_pickled_weights,
                extra=dict(kwargs),
            )

        return _load_first_working(source, decision, candidates, options_for, verbose=verbose)

    @classmethod
    def describe_model(
        cls,
        model_id_or_path: str | os.PathLike[str],
        *,
        api_key: str | None = None,
        backend: Any = None,
        batch_size: int | tuple[int, int] | None = None,
        quantization: Any = None,
        device: Any = None,
        onnx_execution_providers: Any = None,
        model_package_id: str | None = None,
        allow_untrusted_packages: bool = False,
        trt_engine_host_code_allowed: bool = True,
        nms_fusion_preferences: bool | Mapping[str, Any] | None = None,
        environment: RuntimeEnvironment | None = None,
        print_table: bool = False,
    ) -> NegotiationDecision:
        """Which packages the model has, which one ``from_pretrained`` would load with these options, and why
        each other one would not be used. Nothing is downloaded or loaded.

        Returns:
            the decision (``str(decision)`` is the table; it is printed when ``print_table=True``).

        Raises:
            InvalidParameterError: an argument is malformed.
            ModelRetrievalError: the model's metadata could not be obtained.
        """
        request = NegotiationRequest.from_arguments(
            backend=backend,
            batch_size=batch_size,
            quantization=quantization,
            device=device,
            onnx_execution_providers=onnx_execution_providers,
            allow_untrusted_packages=allow_untrusted_packages,
            trt_engine_host_code_allowed=trt_engine_host_code_allowed,
            nms_fusion_preferences=nms_fusion_preferences,
            model_package_id=model_package_id,
        )
        environment = environment if environment is not None else _describe_compute_environment()
        source = _model_source(
            model_id_or_path,
            request,
            environment,
            _SourceOptions(api_key=api_key, use_auto_resolution_cache=False),
            load_flags={},
        )
        decision = evaluate_packages(source.metadata, request, environment=environment)
        if print_table:
            print(decision)
        return decision

    @staticmethod
    def describe_compute_environment(
        *, refresh: bool = False, print_summary: bool = False
    ) -> RuntimeEnvironment:
        """What this machine offers (GPUs, CUDA/TensorRT, Jetson, installed runtimes); printed on request."""
        environment = _describe_compute_environment(refresh=refresh)
        if print_summary:
            print(format_environment(environment))
        return environment


def _load_first_working(
    source: ModelSource,
    decision: NegotiationDecision,
    candidates: tuple[ModelPackage, ...],
    options_for: Callable[[ModelPackage], LoadOptions],
    *,
    verbose: bool,
) -> Model:
    """Try ``candidates`` in order; return the first model that loads, annotated with how it was chosen.

    A single failed candidate re-raises its own error; several raise ModelPackageAlternativesExhaustedError.
    """
    errors: dict[str, BaseException] = {}
    previous: ModelPackage | None = None
    for package in candidates:
        if previous is not None:
            (_verbose_logger() if verbose else _logger).warning(
                "Falling back from %s package %s to %s package %s",
                previous.backend.value,
                previous.package_id,
                package.backend.value,
                package.package_id,
            )
        options = options_for(package)
        try:
            package_dir = source.materialise(package)
            model = source.model_class(package).from_pretrained(package_dir, options)
        except Exception as error:  # every failure is recorded; the next candidate may work
            errors[package.package_id] = error
            _logger.warning(
                "Loading package %s failed: %s: %s", package.package_id, type(error).__name__, error
            )
            previous = package
            continue
        loaded = LoadedPackage(
            model_id=decision.model_id,
            package_id=package.package_id,
            backend=package.backend.value,
            package_dir=Path(package_dir),
            options=options,
            failed_before={key: f"{type(err).__name__}: {err}" for key, err in errors.items()},
        )
        _annotate(model, decision, loaded)
        if source.on_loaded is not None:
            source.on_loaded(package)
        if verbose:
            _verbose_logger().info(
                "Loaded package %s (%s) from %s", package.package_id, package.backend.value, package_dir
            )
        return model
    if len(errors) == 1:
        raise next(iter(errors.values()))
    raise ModelPackageAlternativesExhaustedError(decision.model_id, errors) from next(
        reversed(errors.values())
    )


def _annotate(model: Model, decision: NegotiationDecision, loaded: LoadedPackage) -> None:
    try:
        model.negotiation = decision  # type: ignore[attr-defined]
        model.loaded_package = loaded  # type: ignore[attr-defined]
    except AttributeError:  # a class with __slots__: it still works, only without the explanation
        _logger.debug("%s does not accept the negotiation attributes", type(model).__name__)
