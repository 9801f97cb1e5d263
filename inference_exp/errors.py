"""Every error inference-exp raises.

All of them derive from :class:`InferenceExpError`, whose text always says what happened (``message``) and
what to do about it (``hint``). Registered secrets (API keys) are masked in both.

Hierarchy::

    InferenceExpError
    ├── InvalidParameterError (also ValueError)
    │   ├── InvalidEnvironmentVariableError
    │   ├── UnknownBackendTypeError
    │   ├── UnknownQuantizationError
    │   └── InvalidRequestedBatchSizeError
    ├── InvalidInputError (also ValueError)
    ├── MissingDependencyError (also ImportError)
    ├── ModelRetrievalError
    │   ├── ModelNotFoundError
    │   ├── UnauthorizedModelAccessError
    │   │   └── ForbiddenModelAccessError
    │   ├── PaymentRequiredModelAccessError
    │   ├── UsagePausedModelAccessError
    │   ├── MalformedModelMetadataError
    │   ├── ServiceUnavailableError
    │   └── OfflineModelNotCachedError
    ├── DownloadError
    │   └── HashMismatchError
    ├── ModelPackageNegotiationError
    │   ├── NoModelPackagesAvailableError
    │   └── AmbiguousModelPackageResolutionError
    ├── ModelLoadingError
    │   ├── CorruptedModelPackageError
    │   ├── UntrustedPackageError
    │   ├── UnsafePackageContentError
    │   ├── InsecureModelIdentifierError
    │   ├── ModelImplementationNotFoundError
    │   ├── CacheLockTimeoutError
    │   └── ModelPackageAlternativesExhaustedError
    └── ModelRuntimeError
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from inference_exp.utils.secrets import redact


class InferenceExpError(Exception):
    """Root of every error raised by inference-exp.

    Attributes:
        message: what happened.
        hint: what the user can do about it (may be empty when there is nothing to add).
    """

    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = redact(message)
        self.hint = redact(self.default_hint if hint is None else hint)
        super().__init__(f"{self.message} {self.hint}".strip())


# --- bad arguments and inputs ------------------------------------------------------------------------------


class InvalidParameterError(InferenceExpError, ValueError):
    """An argument has a value the library cannot use."""

    default_hint = "Check the argument against the documentation of the function you called."


class InvalidEnvironmentVariableError(InvalidParameterError):
    """An environment variable the library reads has a value it cannot parse."""

    default_hint = "Fix or unset the environment variable."


class UnknownBackendTypeError(InvalidParameterError):
    """``backend=`` names no known backend."""

    default_hint = "Use one of: onnx, trt, torch, torch-script, hugging-face (alias hf), ultralytics, custom."


class UnknownQuantizationError(InvalidParameterError):
    """``quantization=`` names no known quantization."""

    default_hint = "Use one of: fp32, fp16, bf16, int8, unknown."


class InvalidRequestedBatchSizeError(InvalidParameterError):
    """``batch_size=`` is neither a positive int nor a ``(min, max)`` pair with ``0 < min <= max``."""

    default_hint = "Pass batch_size=N or batch_size=(min, max) with 0 < min <= max."


class InvalidInputError(InferenceExpError, ValueError):
    """An image given to a model cannot be used as it is.

    Attributes:
        item: index of the offending image in the call (``None`` when the whole input is wrong).
    """

    default_hint = (
        "Pass numpy HWC uint8 arrays (BGR by default), torch CHW/NCHW tensors (RGB, uint8 or float in 0..1), "
        "image file paths, or a list of these."
    )

    def __init__(self, message: str, *, item: int | None = None, hint: str | None = None) -> None:
        self.item = item
        prefix = f"images[{item}]: " if item is not None else ""
        super().__init__(prefix + message, hint=hint)


class MissingDependencyError(InferenceExpError, ImportError):
    """An optional dependency needed for the requested feature is not installed.

    Attributes:
        package: the missing import name.
        extra: the ``inference-exp`` extra that installs it (``None`` when there is none).
    """

    def __init__(self, package: str, *, needed_for: str, extra: str | None = None) -> None:
        self.package = package
        self.extra = extra
        if extra is not None:
            hint = f"Install it with: pip install 'inference-exp[{extra}]'."
        else:
            hint = f"Install it with: pip install {package}."
        super().__init__(f"{needed_for} needs the Python package '{package}', which is not installed.", hint=hint)


# --- talking to the weights service ------------------------------------------------------------------------


class ModelRetrievalError(InferenceExpError):
    """The model's metadata could not be obtained from the weights provider."""

    default_hint = "Check the model id, your API key and your network connection."


class ModelNotFoundError(ModelRetrievalError):
    """The weights provider does not know the model (HTTP 404)."""

    default_hint = "Check the model id (e.g. 'workspace/project/3') and that your API key can see it."


class UnauthorizedModelAccessError(ModelRetrievalError):
    """The API key is missing, invalid or not allowed to read the model (HTTP 401)."""

    default_hint = "Pass api_key=... or set ROBOFLOW_API_KEY to a key of the workspace that owns the model."


class ForbiddenModelAccessError(UnauthorizedModelAccessError):
    """The API key is valid but lacks access to this model or the workspace is inactive (HTTP 403)."""

    default_hint = "Use a key of the workspace that owns the model, with access to model weights."


class PaymentRequiredModelAccessError(ModelRetrievalError):
    """The workspace is out of credits (HTTP 402)."""

    default_hint = "Check the billing status of the workspace that owns the model."


class UsagePausedModelAccessError(ModelRetrievalError):
    """API usage is paused for the workspace (HTTP 423)."""

    default_hint = "Resume API usage for the workspace in the Roboflow app, then retry."


class MalformedModelMetadataError(ModelRetrievalError):
    """The weights provider answered, but not with metadata this library can read."""

    default_hint = "Retry later; if it persists, upgrade inference-exp or report the response to the maintainers."


class ServiceUnavailableError(ModelRetrievalError):
    """The weights provider kept failing (timeouts, 5xx, 429) after every retry."""

    default_hint = "Retry later, or raise API_CALLS_MAX_TRIES / API_CALLS_TIMEOUT for a slow connection."


class OfflineModelNotCachedError(ModelRetrievalError):
    """Offline mode is on and the model (or one of its files) is not in the local cache."""

    default_hint = (
        "Load the model once with network access (OFFLINE_MODE unset) so that it is cached, "
        "or point INFERENCE_HOME at a cache that holds it."
    )


class DownloadError(InferenceExpError):
    """A package file could not be downloaded completely (after retries)."""

    default_hint = "Retry; if it persists, check your network or proxy settings."


class HashMismatchError(DownloadError):
    """A downloaded file does not have the checksum the weights provider declared; it was discarded."""

    default_hint = "Retry the download; if it persists the stored file is corrupted - report it to the model owner."


# --- choosing a package ------------------------------------------------------------------------------------


class ModelPackageNegotiationError(InferenceExpError):
    """The request and the model's packages could not be reconciled."""


class NoModelPackagesAvailableError(ModelPackageNegotiationError):
    """No package of the model can run here with the requested options.

    Attributes:
        model_id: the model.
        rejections: package id → the reasons it was rejected.
        suggested_extras: extras whose installation would unlock more packages.
    """

    def __init__(
        self,
        model_id: str,
        rejections: Mapping[str, Sequence[str]],
        *,
        suggested_extras: Iterable[str] = (),
    ) -> None:
        self.model_id = model_id
        self.rejections = {package: list(reasons) for package, reasons in rejections.items()}
        self.suggested_extras = list(dict.fromkeys(suggested_extras))
        counts = Counter(reason for reasons in self.rejections.values() for reason in reasons)
        if self.rejections:
            lines = [f"No package of model '{model_id}' can run on this machine with the requested options:"]
            for reason, count in counts.most_common():
                noun = "package" if count == 1 else "packages"
                lines.append(f"  * {count} {noun}: {reason}")
        else:
            lines = [f"Model '{model_id}' has no packages."]
        if self.suggested_extras:
            extras = " or ".join(f"pip install 'inference-exp[{extra}]'" for extra in self.suggested_extras)
            hint = f"Install a missing backend ({extras}) or relax the requested options."
        else:
            hint = "Relax the requested options (backend, batch_size, quantization, device) or ask for other exports."
        super().__init__("\n".join(lines), hint=hint)


class AmbiguousModelPackageResolutionError(ModelPackageNegotiationError):
    """``model_package_id`` matches more than one package."""

    default_hint = "Report this to the model owner: package ids must be unique."


# --- loading a package -------------------------------------------------------------------------------------


class ModelLoadingError(InferenceExpError):
    """A chosen package could not be turned into a working model."""


class CorruptedModelPackageError(ModelLoadingError):
    """A package is incomplete or one of its files is malformed."""

    default_hint = "Re-download it (inference-exp cache rm MODEL) or fix the package files."


class UntrustedPackageError(ModelLoadingError):
    """The package does not come from a trusted source and untrusted packages were not allowed."""

    default_hint = "Pass allow_untrusted_packages=True only if you trust whoever published the package."


class UnsafePackageContentError(ModelLoadingError):
    """Loading the package would run its own Python code or unpickle its weights, which was not allowed."""


class InsecureModelIdentifierError(ModelLoadingError):
    """A model id, package id or file name would escape the cache or is otherwise unsafe."""

    default_hint = "The package metadata is malformed or hostile; do not load it."


class ModelImplementationNotFoundError(ModelLoadingError):
    """This library has no implementation for the model's (architecture, task, backend)."""

    default_hint = "Run `inference-exp describe MODEL` to see which packages exist and which backends can run them."


class CacheLockTimeoutError(ModelLoadingError):
    """Another process held a cache lock for longer than the allowed wait."""

    default_hint = "Another process may be downloading the same file; wait for it or raise the lock timeout."


class ModelPackageAlternativesExhaustedError(ModelLoadingError):
    """Every candidate package failed to load.

    Attributes:
        errors: package id → the exception its loading raised.
    """

    def __init__(self, model_id: str, errors: Mapping[str, BaseException]) -> None:
        self.model_id = model_id
        self.errors = dict(errors)
        lines = [f"Every compatible package of model '{model_id}' failed to load:"]
        lines += [f"  * {package}: {type(error).__name__}: {error}" for package, error in self.errors.items()]
        super().__init__("\n".join(lines), hint="Fix the first error above, or pick another package or backend.")


class ModelRuntimeError(InferenceExpError):
    """Running a loaded model failed."""
