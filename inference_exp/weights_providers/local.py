"""Local models: a package directory (with ``model_config.json``) or, through resolvers, a bare export file.

A local directory becomes a :class:`~inference_exp.weights_providers.ModelSource` whose metadata holds one
synthesised, trusted package, so that local models go through the same negotiation as downloaded ones (a
requested backend that does not match is a rejection with its reason). Facts a directory cannot state
(an ONNX opset, the GPU a TensorRT engine was built on) are left unknown, and the negotiation does not
reject on unknown facts.

Two ``model_config.json`` forms (model-packages.md §7):

* library form ``{"model_architecture", "task_type", "backend_type"}`` → the registry's class;
* custom-code form ``{"model_module": "model.py", "model_class": "MyModel"}`` → the package's own class,
  imported only with ``allow_local_code_packages=True``; ``model_module`` must stay inside the directory.

Other local paths (``model.onnx``, ``*.torchscript``) are handled by *path resolvers* registered with
:func:`register_path_resolver` and tried in order; the built-in one handles package directories.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Protocol

from inference_exp.errors import (
    CorruptedModelPackageError,
    ModelImplementationNotFoundError,
    ModelLoadingError,
    UnsafePackageContentError,
)
from inference_exp.models.base import Model
from inference_exp.packages.manifests import (
    BATCH_AWARE_MANIFESTS,
    CustomManifest,
    HuggingFaceManifest,
    ModelMetadata,
    ModelPackage,
    OnnxManifest,
    TorchManifest,
    TorchScriptManifest,
    TrtManifest,
    UltralyticsManifest,
)
from inference_exp.packages.package_files import (
    INFERENCE_CONFIG_FILE,
    MODEL_CONFIG_FILE,
    TRT_CONFIG_FILE,
    CustomCodeModelConfig,
    LibraryModelConfig,
    read_forward_pass,
    read_model_config,
    read_trt_config,
)
from inference_exp.packages.types import BackendType, Quantization
from inference_exp.weights_providers import ModelSource, registry_class_resolver

LOCAL_PACKAGE_ID = "local"
CUSTOM_CODE_ARCHITECTURE = "custom-code"
_MANIFEST_TYPES: dict[BackendType, type] = {
    BackendType.ONNX: OnnxManifest,
    BackendType.TRT: TrtManifest,
    BackendType.TORCH: TorchManifest,
    BackendType.TORCH_SCRIPT: TorchScriptManifest,
    BackendType.HUGGING_FACE: HuggingFaceManifest,
    BackendType.ULTRALYTICS: UltralyticsManifest,
    BackendType.CUSTOM: CustomManifest,
}


class PathResolver(Protocol):
    """Turns a local path into a :class:`ModelSource`, or returns ``None`` when the path is not its kind."""

    def __call__(self, path: Path, *, allow_local_code_packages: bool) -> ModelSource | None: ...


def package_directory_source(path: Path, *, allow_local_code_packages: bool) -> ModelSource | None:
    """The built-in resolver: a directory containing ``model_config.json``."""
    config_path = path / MODEL_CONFIG_FILE
    if not (path.is_dir() and config_path.is_file()):
        return None
    config = read_model_config(config_path)
    if isinstance(config, CustomCodeModelConfig):
        return _custom_code_source(path, config, allow_local_code_packages=allow_local_code_packages)
    return library_package_source(str(path), path, config)


def library_package_source(model_id: str, package_dir: Path, config: LibraryModelConfig) -> ModelSource:
    """The source of one package directory loaded by the registry's class for ``config``'s architecture, task
    and backend (the directory is used as it is)."""
    metadata = ModelMetadata(
        model_id=model_id,
        model_architecture=config.model_architecture,
        task_type=config.task_type,
        packages=(synthesise_package(package_dir, config),),
    )
    return ModelSource(
        metadata=metadata, materialise=lambda package: package_dir, model_class=registry_class_resolver(metadata)
    )


_path_resolvers: list[PathResolver] = [package_directory_source]


def register_path_resolver(resolver: PathResolver, *, first: bool = False) -> None:
    """Add a resolver for local paths (tried in order; ``first=True`` puts it before the built-in one)."""
    if first:
        _path_resolvers.insert(0, resolver)
    else:
        _path_resolvers.append(resolver)


def unregister_path_resolver(resolver: PathResolver) -> None:
    """Remove a resolver added with :func:`register_path_resolver` (no error when absent)."""
    if resolver in _path_resolvers:
        _path_resolvers.remove(resolver)


def local_model_source(path: str | Path, *, allow_local_code_packages: bool = False) -> ModelSource:
    """The :class:`ModelSource` of a local package directory or export file.

    Raises:
        CorruptedModelPackageError: a directory without ``model_config.json`` or with a malformed one.
        ModelLoadingError: a file no resolver can load.
    """
    # The bare-export resolver (model.onnx, *.torchscript) registers itself when imported.
    import inference_exp.weights_providers.bare_exports  # noqa: F401

    path = Path(path).expanduser().absolute()
    for resolver in _path_resolvers:
        source = resolver(path, allow_local_code_packages=allow_local_code_packages)
        if source is not None:
            return source
    if path.is_dir():
        raise CorruptedModelPackageError(
            f"{path} is not a model package: it has no {MODEL_CONFIG_FILE}.",
            hint='Add a model_config.json such as {"model_architecture": "yolov8", "task_type": "object-detection", '
            '"backend_type": "onnx"}.',
        )
    raise ModelLoadingError(
        f"Cannot load {path}: no loader recognises this file.",
        hint="Pass a package directory with model_config.json, or a model id.",
    )


def synthesise_package(package_dir: Path, config: LibraryModelConfig) -> ModelPackage:
    """One trusted package describing the directory: backend and quantization from the config, batch facts from
    ``trt_config.json`` (TensorRT) or ``inference_config.json``'s ``forward_pass``; everything else unknown."""
    backend = config.backend_type
    manifest_type = _MANIFEST_TYPES[backend]
    # Built without validation: facts the directory cannot state stay None (unknown) instead of invented.
    fields: dict[str, object] = {name: None for name in manifest_type.model_fields}
    fields.update(
        type=manifest_type.model_fields["type"].default,
        backend=backend,
        quantization=Quantization.UNKNOWN if backend is BackendType.ULTRALYTICS else config.quantization,
    )
    if manifest_type in BATCH_AWARE_MANIFESTS:
        fields.update(_batch_facts(package_dir, backend))
    if manifest_type is TrtManifest:
        fields.update(same_cc_compatible=False, trt_forward_compatible=False, trt_lean_runtime_excluded=False)
    manifest = manifest_type.model_construct(**fields)
    return ModelPackage.model_construct(
        package_id=LOCAL_PACKAGE_ID,
        manifest=manifest,
        files=(),
        model_features=dict(config.model_features) if config.model_features is not None else None,
        trusted_source=True,
        recommended_parameters=None,
    )


def _batch_facts(package_dir: Path, backend: BackendType) -> dict[str, object]:
    """Batch fields of the synthesised manifest; ``dynamic_batch_size=None`` means "unknown"."""
    if backend is BackendType.TRT and (package_dir / TRT_CONFIG_FILE).is_file():
        trt = read_trt_config(package_dir / TRT_CONFIG_FILE)
        if not trt.is_dynamic:
            return {"dynamic_batch_size": False, "static_batch_size": trt.static_batch_size}
        return {
            "dynamic_batch_size": True,
            "min_batch_size": trt.dynamic_batch_size_min,
            "opt_batch_size": trt.dynamic_batch_size_opt,
            "max_batch_size": trt.dynamic_batch_size_max,
        }
    if backend is not BackendType.TRT and (package_dir / INFERENCE_CONFIG_FILE).is_file():
        forward_pass = read_forward_pass(package_dir / INFERENCE_CONFIG_FILE)
        if forward_pass.static_batch_size is not None:
            return {"dynamic_batch_size": False, "static_batch_size": forward_pass.static_batch_size}
        return {"dynamic_batch_size": True}
    return {"dynamic_batch_size": None}


# --- custom code -----------------------------------------------------------------------------------------------


def _custom_code_source(
    path: Path, config: CustomCodeModelConfig, *, allow_local_code_packages: bool
) -> ModelSource:
    package = ModelPackage(
        package_id=LOCAL_PACKAGE_ID,
        manifest=CustomManifest(quantization=Quantization.UNKNOWN),
        files=(),
        trusted_source=True,
    )
    metadata = ModelMetadata(
        model_id=str(path), model_architecture=CUSTOM_CODE_ARCHITECTURE, packages=(package,)
    )

    def model_class(_: ModelPackage) -> type[Model]:
        if not allow_local_code_packages:
            raise UnsafePackageContentError(
                f"{path} is a custom-code package: loading it runs its own Python code ({config.model_module}).",
                hint="Pass allow_local_code_packages=True only if you trust the package's author.",
            )
        return load_custom_code_class(path, config)

    return ModelSource(metadata=metadata, materialise=lambda package: path, model_class=model_class)


def load_custom_code_class(package_dir: Path, config: CustomCodeModelConfig) -> type[Model]:
    """Import ``config.model_module`` from inside ``package_dir`` and return ``config.model_class``.

    Raises:
        UnsafePackageContentError: ``model_module`` points outside the package directory.
        CorruptedModelPackageError: the module file is missing.
        ModelImplementationNotFoundError: the module fails to import or lacks a suitable class.
    """
    root = package_dir.resolve()
    module_path = (root / config.model_module).resolve()
    if not module_path.is_relative_to(root):
        raise UnsafePackageContentError(
            f"{package_dir}/{MODEL_CONFIG_FILE}: model_module {config.model_module!r} points outside the package directory.",
            hint="model_module must be a .py file inside the package directory.",
        )
    if not module_path.is_file():
        raise CorruptedModelPackageError(
            f"The model package is incomplete: {config.model_module} (model_module) is missing from {package_dir}."
        )
    module_name = "inference_exp_local_code_" + hashlib.sha256(str(module_path).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(module_name, module_path)
    if spec is None or spec.loader is None:
        raise ModelImplementationNotFoundError(f"{module_path} cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise ModelImplementationNotFoundError(
            f"Importing {module_path} failed: {type(error).__name__}: {error}.",
            hint="Fix the package's code or its dependencies.",
        ) from error
    model_class = getattr(module, config.model_class, None)
    if not isinstance(model_class, type) or not callable(getattr(model_class, "from_pretrained", None)):
        raise ModelImplementationNotFoundError(
            f"{module_path} has no class {config.model_class!r} with a from_pretrained(package_dir, options) classmethod."
        )
    return model_class
