"""The data model of a model and its packages, as the Roboflow weights API describes them.

Field names are snake_case in Python and camelCase on the wire (pydantic aliases; both are accepted).
:func:`parse_model_metadata` turns one API page into a :class:`ModelMetadata`; a package that cannot be
parsed does not abort the call but becomes an :class:`UnusablePackage` with the reason, so that it shows up
among the rejections of the negotiation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from inference_exp.errors import InsecureModelIdentifierError, MalformedModelMetadataError
from inference_exp.packages.file_handles import check_file_handles, check_package_id
from inference_exp.packages.types import BackendType, Quantization

MODEL_METADATA_TYPE = "external-model-metadata-v1"
MODEL_PACKAGE_TYPE = "external-model-package-v1"
# Manifest types the service publishes for other runtimes; silently not ours.
IGNORED_MANIFEST_TYPES = frozenset({"oak-model-package-v1", "tfjs-model-package-v1", "mediapipe-model-package-v1"})


def _to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class WireModel(BaseModel):
    """Base of the wire-format models: camelCase aliases, unknown keys ignored, immutable."""

    model_config = ConfigDict(alias_generator=_to_camel, populate_by_name=True, extra="ignore", frozen=True)


def _check_version(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        Version(value)
    except InvalidVersion:
        raise ValueError(f"{value!r} is not a version number") from None
    return value


VersionString = Annotated[str, Field(min_length=1)]


class _BatchAwareManifest(WireModel):
    dynamic_batch_size: bool = False
    static_batch_size: int | None = None
    quantization: Quantization

    @model_validator(mode="after")
    def _batch_is_consistent(self) -> _BatchAwareManifest:
        if self.dynamic_batch_size and self.static_batch_size is not None:
            raise ValueError("a dynamic-batch package must not declare staticBatchSize")
        if not self.dynamic_batch_size and (self.static_batch_size is None or self.static_batch_size < 1):
            raise ValueError("a static-batch package needs staticBatchSize >= 1")
        return self


class OnnxManifest(_BatchAwareManifest):
    """``onnx-model-package-v1``."""

    type: Literal["onnx-model-package-v1"] = "onnx-model-package-v1"
    backend: Literal[BackendType.ONNX] = BackendType.ONNX
    opset: int = Field(ge=1)
    incompatible_providers: tuple[str, ...] | None = None


class GpuServerSpecs(WireModel):
    """``gpu-server-specs-v1``: the server a TensorRT engine was compiled on."""

    type: Literal["gpu-server-specs-v1"] = "gpu-server-specs-v1"
    driver_version: VersionString
    os_version: str

    _versions = field_validator("driver_version")(_check_version)


class JetsonSpecs(WireModel):
    """``jetson-machine-specs-v1``: the Jetson a TensorRT engine was compiled on."""

    type: Literal["jetson-machine-specs-v1"] = "jetson-machine-specs-v1"
    l4t_version: VersionString
    device_name: str
    driver_version: VersionString

    _versions = field_validator("l4t_version", "driver_version")(_check_version)


class TrtManifest(_BatchAwareManifest):
    """``trt-model-package-v1``: a serialised TensorRT engine and where it was compiled."""

    type: Literal["trt-model-package-v1"] = "trt-model-package-v1"
    backend: Literal[BackendType.TRT] = BackendType.TRT
    min_batch_size: int | None = None
    opt_batch_size: int | None = None
    max_batch_size: int | None = None
    cuda_device_type: str
    cuda_device_cc: VersionString = Field(alias="cudaDeviceCC")
    cuda_version: VersionString
    trt_version: VersionString
    same_cc_compatible: bool = Field(False, alias="sameCCCompatible")
    trt_forward_compatible: bool = False
    trt_lean_runtime_excluded: bool = False
    machine_type: Literal["gpu-server", "jetson"]
    machine_specs: Annotated[GpuServerSpecs | JetsonSpecs, Field(discriminator="type")]

    _versions = field_validator("cuda_device_cc", "cuda_version", "trt_version")(_check_version)

    @model_validator(mode="after")
    def _trt_is_consistent(self) -> TrtManifest:
        if self.dynamic_batch_size:
            bounds = (self.min_batch_size, self.opt_batch_size, self.max_batch_size)
            if any(b is None for b in bounds):
                raise ValueError("a dynamic-batch TensorRT package needs minBatchSize, optBatchSize and maxBatchSize")
            low, opt, high = bounds
            if not 1 <= low <= opt <= high:  # type: ignore[operator]
                raise ValueError(f"TensorRT batch bounds must satisfy 1 <= min <= opt <= max, got {bounds}")
        expected = "gpu-server-specs-v1" if self.machine_type == "gpu-server" else "jetson-machine-specs-v1"
        if self.machine_specs.type != expected:
            raise ValueError(f"machineType {self.machine_type!r} does not match machineSpecs {self.machine_specs.type!r}")
        return self

    @property
    def is_jetson(self) -> bool:
        return self.machine_type == "jetson"


class TorchManifest(_BatchAwareManifest):
    """``torch-model-package-v1``: weights for a network built in code."""

    type: Literal["torch-model-package-v1"] = "torch-model-package-v1"
    backend: Literal[BackendType.TORCH] = BackendType.TORCH


class TorchScriptManifest(_BatchAwareManifest):
    """``torch-script-model-package-v1``."""

    type: Literal["torch-script-model-package-v1"] = "torch-script-model-package-v1"
    backend: Literal[BackendType.TORCH_SCRIPT] = BackendType.TORCH_SCRIPT
    supported_device_types: tuple[str, ...]
    torch_version: VersionString
    torch_vision_version: VersionString | None = None

    _versions = field_validator("torch_version", "torch_vision_version")(_check_version)


class HuggingFaceManifest(WireModel):
    """``hf-model-package-v1``: a Hugging Face ``from_pretrained`` directory (no batch information)."""

    type: Literal["hf-model-package-v1"] = "hf-model-package-v1"
    backend: Literal[BackendType.HUGGING_FACE] = BackendType.HUGGING_FACE
    quantization: Quantization = Quantization.UNKNOWN


class UltralyticsManifest(WireModel):
    """``ultralytics-model-package-v1`` (content ignored; quantization unknown, no batch information)."""

    type: Literal["ultralytics-model-package-v1"] = "ultralytics-model-package-v1"
    backend: Literal[BackendType.ULTRALYTICS] = BackendType.ULTRALYTICS
    quantization: Literal[Quantization.UNKNOWN] = Quantization.UNKNOWN


class CustomManifest(WireModel):
    """A local package that ships its own Python code (``model_config.json`` with ``model_module``)."""

    type: Literal["custom-model-package"] = "custom-model-package"
    backend: Literal[BackendType.CUSTOM] = BackendType.CUSTOM
    quantization: Quantization = Quantization.UNKNOWN


PackageManifest = Annotated[
    OnnxManifest | TrtManifest | TorchManifest | TorchScriptManifest | HuggingFaceManifest | UltralyticsManifest | CustomManifest,
    Field(discriminator="type"),
]
# Manifest types the weights API may publish (custom-code packages only exist locally).
WIRE_MANIFEST_TYPES = frozenset(
    m.model_fields["type"].default
    for m in (OnnxManifest, TrtManifest, TorchManifest, TorchScriptManifest, HuggingFaceManifest, UltralyticsManifest)
)
BATCH_AWARE_MANIFESTS = (OnnxManifest, TrtManifest, TorchManifest, TorchScriptManifest)


class PackageFile(WireModel):
    """One file of a package: its name inside the package, where to fetch it and its declared MD5."""

    file_handle: str
    download_url: str | None = None
    md5_hash: str | None = None

    @field_validator("md5_hash", mode="before")
    @classmethod
    def _normalise_md5(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) != 32 or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise ValueError(f"md5Hash {value!r} is not 32 hexadecimal digits")
        return value.lower()


class ModelPackage(WireModel):
    """One exported form of a model (``external-model-package-v1``)."""

    package_id: str
    manifest: PackageManifest = Field(alias="packageManifest")
    files: tuple[PackageFile, ...] = Field(alias="packageFiles")
    model_features: dict[str, Any] | None = None
    trusted_source: bool = False
    recommended_parameters: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _identifiers_are_safe(self) -> ModelPackage:
        try:
            check_package_id(self.package_id)
            check_file_handles(f.file_handle for f in self.files)
        except InsecureModelIdentifierError as error:
            raise ValueError(error.message) from None
        return self

    @property
    def backend(self) -> BackendType:
        return self.manifest.backend

    @property
    def quantization(self) -> Quantization:
        return self.manifest.quantization

    @property
    def dynamic_batch_size(self) -> bool | None:
        """Whether the batch axis is dynamic; ``None`` when the manifest carries no batch information."""
        return self.manifest.dynamic_batch_size if isinstance(self.manifest, BATCH_AWARE_MANIFESTS) else None

    @property
    def static_batch_size(self) -> int | None:
        return self.manifest.static_batch_size if isinstance(self.manifest, BATCH_AWARE_MANIFESTS) else None


class UnusablePackage(WireModel):
    """A package entry this library cannot use at all (malformed or of an unknown type), with the reason."""

    package_id: str
    reason: str


class ModelDependency(WireModel):
    """Another model this one needs (``model-dependency-v1``)."""

    name: str
    model_id: str
    model_package_id: str | None = None


class ModelMetadata(WireModel):
    """A model and all of its packages."""

    model_id: str
    model_architecture: str
    task_type: str | None = None
    model_variant: str | None = None
    packages: tuple[ModelPackage, ...] = ()
    unusable_packages: tuple[UnusablePackage, ...] = ()
    recommended_parameters: dict[str, Any] | None = None
    model_dependencies: tuple[ModelDependency, ...] | None = None
    next_page: str | None = None


def parse_model_metadata(page: Any) -> ModelMetadata:
    """Parse one page of the weights API (the whole JSON body).

    Raises:
        MalformedModelMetadataError: the body is not an object with a valid ``modelMetadata``.
    """
    if not isinstance(page, dict) or not isinstance(page.get("modelMetadata"), dict):
        raise MalformedModelMetadataError("The weights API response has no 'modelMetadata' object.")
    raw = page["modelMetadata"]
    if raw.get("type") != MODEL_METADATA_TYPE:
        raise MalformedModelMetadataError(
            f"The weights API response has metadata of type {raw.get('type')!r}; expected {MODEL_METADATA_TYPE!r}."
        )
    raw_packages = raw.get("modelPackages")
    if not isinstance(raw_packages, list):
        raise MalformedModelMetadataError("The weights API response has no 'modelPackages' list.")
    packages: list[ModelPackage] = []
    unusable: list[UnusablePackage] = []
    for index, raw_package in enumerate(raw_packages):
        parsed = parse_model_package(raw_package, index)
        if isinstance(parsed, ModelPackage):
            packages.append(parsed)
        elif parsed is not None:
            unusable.append(parsed)
    fields = {key: value for key, value in raw.items() if key != "modelPackages"}
    try:
        return ModelMetadata.model_validate({**fields, "packages": packages, "unusable_packages": unusable})
    except ValidationError as error:
        raise MalformedModelMetadataError(f"The weights API metadata is invalid: {describe_validation_error(error)}") from None


def parse_model_package(raw: Any, index: int) -> ModelPackage | UnusablePackage | None:
    """Parse one ``modelPackages[]`` entry; ``None`` for entries of runtimes this library ignores on purpose."""
    package_id = str(raw.get("packageId")) if isinstance(raw, dict) and raw.get("packageId") else f"#{index}"
    if not isinstance(raw, dict):
        return UnusablePackage(package_id=package_id, reason="package entry is not a JSON object")
    if raw.get("type") != MODEL_PACKAGE_TYPE:
        return UnusablePackage(
            package_id=package_id,
            reason=f"package entry type {raw.get('type')!r} is unknown (this version of inference-exp may be outdated)",
        )
    manifest = raw.get("packageManifest")
    manifest_type = manifest.get("type") if isinstance(manifest, dict) else None
    if not isinstance(manifest_type, str):
        return UnusablePackage(package_id=package_id, reason=f"package manifest has no type string ({manifest_type!r})")
    if manifest_type in IGNORED_MANIFEST_TYPES:
        return None
    if manifest_type not in WIRE_MANIFEST_TYPES:
        return UnusablePackage(
            package_id=package_id,
            reason=f"manifest type {manifest_type!r} is not supported by this version of inference-exp",
        )
    try:
        return ModelPackage.model_validate(raw)
    except ValidationError as error:
        return UnusablePackage(package_id=package_id, reason=f"malformed package: {describe_validation_error(error)}")


def describe_validation_error(error: ValidationError, limit: int = 3) -> str:
    """A one-line summary of a pydantic error: ``field.path: message`` for the first few problems."""
    parts = []
    for problem in error.errors()[:limit]:
        location = ".".join(str(part) for part in problem["loc"]) or "(root)"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}")
    more = len(error.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
