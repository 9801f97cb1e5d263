"""Backend-specific checks: can this machine run the package's artefact?

Each check ignores packages of other backends and returns ``None`` when a fact it needs is unknown (e.g. a
local package without an opset) or when a missing runtime was already reported by the "installed" check of
the same backend, so that every reason shown is independent and actionable.
"""

from __future__ import annotations

from collections.abc import Sequence

from inference_exp.negotiation.onnx_opsets import OLDEST_KNOWN, max_supported_opset
from inference_exp.negotiation.reason import Reason
from inference_exp.negotiation.request import NegotiationRequest, provider_names
from inference_exp.packages.manifests import ModelPackage, OnnxManifest, TorchScriptManifest, TrtManifest
from inference_exp.packages.types import BackendType
from inference_exp.runtime.devices import device_index, device_type
from inference_exp.runtime.environment import GpuDevice, RuntimeEnvironment
from inference_exp.runtime.extras import extras_for_backend
from inference_exp.runtime.probes import normalise_device_name
from inference_exp.runtime.versions import major_minor, parse_version, release
from inference_exp.settings import onnx_execution_providers as default_onnx_execution_providers

TORCH_BACKENDS = (BackendType.TORCH, BackendType.TORCH_SCRIPT, BackendType.HUGGING_FACE)


# --- ONNX ----------------------------------------------------------------------------------------------------


def onnx_installed_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """onnxruntime must be installed and report at least one execution provider."""
    if package.backend is not BackendType.ONNX or environment.onnxruntime_available:
        return None
    extras = extras_for_backend(BackendType.ONNX, environment)
    if environment.onnxruntime_version is None:
        return Reason("onnxruntime is not installed", extras)
    return Reason(
        f"onnxruntime {environment.onnxruntime_version} reports no usable execution provider", extras
    )


def selected_execution_providers(
    environment: RuntimeEnvironment, request: NegotiationRequest
) -> tuple[str, ...]:
    """The provider names ONNX models will use here: requested (or default) ones that onnxruntime has, in order."""
    wanted = (
        provider_names(request.onnx_execution_providers)
        if request.onnx_execution_providers is not None
        else default_onnx_execution_providers()
    )
    return tuple(name for name in dict.fromkeys(wanted) if name in environment.onnx_execution_providers)


def onnx_providers_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """Some selected provider must be available, and the first one must not be incompatible with the package."""
    if package.backend is not BackendType.ONNX or not environment.onnxruntime_available:
        return None
    selected = selected_execution_providers(environment, request)
    available = ", ".join(environment.onnx_execution_providers)
    if not selected:
        source = (
            "requested"
            if request.onnx_execution_providers is not None
            else "default (ONNXRUNTIME_EXECUTION_PROVIDERS)"
        )
        return Reason(f"none of the {source} ONNX execution providers is available (available: {available})")
    incompatible = _incompatible_providers(package)
    if selected[0] in incompatible:
        usable = [name for name in selected if name not in incompatible]
        hint = f"; pass onnx_execution_providers={usable} to skip it" if usable else ""
        return Reason(
            f"package does not work with {selected[0]}, the first selected execution provider{hint}"
        )
    return None


def _incompatible_providers(package: ModelPackage) -> Sequence[str]:
    manifest = package.manifest
    return (manifest.incompatible_providers or ()) if isinstance(manifest, OnnxManifest) else ()


def incompatible_available_providers(package: ModelPackage, environment: RuntimeEnvironment) -> int:
    """How many of this machine's providers the package declares incompatible (ranking: fewer is better)."""
    return sum(1 for name in _incompatible_providers(package) if name in environment.onnx_execution_providers)


def onnx_opset_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """The package's opset must not exceed what the installed onnxruntime implements."""
    manifest = package.manifest
    if (
        not isinstance(manifest, OnnxManifest)
        or manifest.opset is None
        or environment.onnxruntime_version is None
    ):
        return None
    max_opset = max_supported_opset(environment.onnxruntime_version)
    if max_opset is None:
        oldest = ".".join(map(str, OLDEST_KNOWN))
        return Reason(
            f"onnxruntime {environment.onnxruntime_version} is older than {oldest}, the oldest release whose opset "
            "support inference-exp knows; upgrade onnxruntime"
        )
    if manifest.opset > max_opset:
        return Reason(
            f"package uses ONNX opset {manifest.opset}, onnxruntime {environment.onnxruntime_version} supports up to "
            f"{max_opset}; upgrade onnxruntime"
        )
    return None


# --- torch, TorchScript, Hugging Face -------------------------------------------------------------------------


def torch_installed_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """torch, TorchScript and Hugging Face packages need torch."""
    if package.backend not in TORCH_BACKENDS or environment.torch_available:
        return None
    return Reason("torch is not installed", extras_for_backend(BackendType.TORCH, environment))


def transformers_installed_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """Hugging Face packages need transformers (a base dependency of inference-exp)."""
    if package.backend is not BackendType.HUGGING_FACE or environment.transformers_available:
        return None
    return Reason(
        "transformers is not installed; reinstall inference-exp (pip install --force-reinstall inference-exp)"
    )


def torch_device_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """A CUDA device needs a torch that can use CUDA here."""
    assert request.device is not None
    if (
        package.backend not in TORCH_BACKENDS
        or not environment.torch_available
        or device_type(request.device) != "cuda"
        or environment.torch_cuda_available
    ):
        return None
    extras = extras_for_backend(BackendType.TORCH, environment) if environment.driver_version else ()
    return Reason(
        f"device {request.device} was requested but torch {environment.torch_version} cannot use CUDA here",
        extras,
    )


def torchscript_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """TorchScript: the device type must be supported and torch (and torchvision, if declared) new enough."""
    manifest = package.manifest
    if not isinstance(manifest, TorchScriptManifest) or not environment.torch_available:
        return None
    assert request.device is not None
    problems = []
    supported = manifest.supported_device_types
    if supported is not None and device_type(request.device) not in supported:
        problems.append(f"export runs on {', '.join(supported)}, not on device {request.device}")
    if not _at_least(environment.torch_version, manifest.torch_version):
        problems.append(
            f"export needs torch >= {manifest.torch_version}, installed {environment.torch_version}"
        )
    if manifest.torch_vision_version is not None:
        if environment.torchvision_version is None:
            problems.append(
                f"export needs torchvision >= {manifest.torch_vision_version}, which is not installed"
            )
        elif not _at_least(environment.torchvision_version, manifest.torch_vision_version):
            problems.append(
                f"export needs torchvision >= {manifest.torch_vision_version}, installed {environment.torchvision_version}"
            )
    return Reason("; ".join(problems)) if problems else None


def _at_least(installed: str | None, required: str | None) -> bool:
    """Whether ``installed`` ≥ ``required`` on the numeric release; an unknown requirement is met."""
    if required is None:
        return True
    have, need = release(installed), release(required)
    return have is not None and need is not None and have >= need


# --- TensorRT ------------------------------------------------------------------------------------------------


def trt_installed_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """TensorRT must be installed, with its Python package importable."""
    if package.backend is not BackendType.TRT:
        return None
    extras = extras_for_backend(BackendType.TRT, environment)
    if environment.trt_version is None:
        return Reason("TensorRT is not installed", extras)
    if not environment.trt_python_package_available:
        return Reason(
            f"TensorRT {environment.trt_version} is installed but its Python package is not importable",
            extras,
        )
    return None


def trt_machine_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """Jetson engines run only on a Jetson with the same L4T major.minor; server engines only off Jetsons."""
    manifest = package.manifest
    if not isinstance(manifest, TrtManifest) or manifest.machine_type is None:
        return None
    if not manifest.is_jetson:
        if environment.is_jetson:
            return Reason("engine was compiled on a GPU server; this machine is a Jetson")
        return None
    specs = manifest.machine_specs
    compiled_on = f"{specs.device_name}, L4T {specs.l4t_version}"
    if environment.l4t_version is None:
        if environment.is_jetson:
            return Reason(
                f"engine was compiled on a Jetson ({compiled_on}); this Jetson's L4T version is unknown - set L4T_VERSION"
            )
        return Reason(
            f"engine was compiled on a Jetson ({compiled_on}); this machine is not a Jetson "
            "(inside a container on a Jetson, set RUNNING_ON_JETSON=true and L4T_VERSION)"
        )
    if major_minor(environment.l4t_version) != major_minor(specs.l4t_version):
        return Reason(
            f"engine was compiled for L4T {specs.l4t_version}, this Jetson runs L4T {environment.l4t_version}"
        )
    return None


def candidate_gpus(environment: RuntimeEnvironment, device: str) -> tuple[GpuDevice, ...]:
    """The GPU(s) a CUDA ``device`` designates (``cuda`` → GPU 0); empty for other devices or no GPU."""
    if device_type(device) != "cuda" or not environment.gpus:
        return ()
    index = device_index(device) or 0
    return (environment.gpus[index],) if index < len(environment.gpus) else ()


def gpu_name_matches(package: ModelPackage, environment: RuntimeEnvironment, device: str) -> int:
    """How many designated GPUs carry the exact device name the engine was compiled on."""
    manifest = package.manifest
    if not isinstance(manifest, TrtManifest) or manifest.cuda_device_type is None:
        return 0
    wanted = normalise_device_name(manifest.cuda_device_type)
    return sum(1 for gpu in candidate_gpus(environment, device) if normalise_device_name(gpu.name) == wanted)


def trt_device_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """The designated GPU must be the engine's GPU model, or of its compute capability for same-CC engines."""
    manifest = package.manifest
    if not isinstance(manifest, TrtManifest):
        return None
    assert request.device is not None
    if device_type(request.device) != "cuda":
        return Reason(f"TensorRT engines run on CUDA devices, not on device {request.device}")
    gpus = candidate_gpus(environment, request.device)
    if not gpus:
        return Reason("no CUDA GPU was detected")
    if manifest.cuda_device_type is None or manifest.cuda_device_cc is None:
        return None
    here = ", ".join(f"{gpu.name} (CC {gpu.compute_capability})" for gpu in gpus)
    if manifest.same_cc_compatible:
        wanted = release(manifest.cuda_device_cc)
        if any(release(gpu.compute_capability) == wanted for gpu in gpus):
            return None
        return Reason(
            f"engine runs on GPUs of compute capability {manifest.cuda_device_cc}; device {request.device} is {here}"
        )
    if gpu_name_matches(package, environment, request.device):
        return None
    return Reason(
        f"engine was compiled for {manifest.cuda_device_type} (CC {manifest.cuda_device_cc}) only; device {request.device} is {here}"
    )


def trt_version_check(
    package: ModelPackage, environment: RuntimeEnvironment, request: NegotiationRequest
) -> Reason | None:
    """Exact TensorRT release match, or for version-compatible engines an equal-or-newer TensorRT."""
    manifest = package.manifest
    if (
        not isinstance(manifest, TrtManifest)
        or manifest.trt_version is None
        or environment.trt_version is None
    ):
        return None
    installed, built = release(environment.trt_version), release(manifest.trt_version)
    if installed is None or built is None:
        return Reason(
            f"cannot compare TensorRT versions {environment.trt_version} and {manifest.trt_version}"
        )
    if not manifest.trt_forward_compatible:
        if installed == built:
            return None
        return Reason(
            f"engine was built with TensorRT {manifest.trt_version} and needs exactly that release; "
            f"installed {environment.trt_version}"
        )
    if installed < built:
        return Reason(
            f"engine needs TensorRT {manifest.trt_version} or newer; installed {environment.trt_version}"
        )
    if manifest.trt_lean_runtime_excluded:
        return Reason("version-compatible engines built without the lean runtime are not supported")
    if not request.trt_engine_host_code_allowed:
        return Reason(
            "engine embeds the TensorRT lean runtime, which runs host code when loaded; "
            "pass trt_engine_host_code_allowed=True to allow it"
        )
    return None


def trt_version_distance(
    package: ModelPackage, environment: RuntimeEnvironment
) -> tuple[int, tuple[int, ...]]:
    """Ranking: engines of exactly the installed TensorRT first, then the newest release."""
    manifest = package.manifest
    if not isinstance(manifest, TrtManifest):
        return 0, ()
    built = release(manifest.trt_version) or ()
    exact = built == release(environment.trt_version)
    return (0 if exact else 1), tuple(-part for part in built)


def cuda_version_distance(
    package: ModelPackage, environment: RuntimeEnvironment
) -> tuple[int, tuple[int, ...]]:
    """Ranking: engines built for a CUDA no newer than the machine's first, newest such first."""
    manifest = package.manifest
    if not isinstance(manifest, TrtManifest):
        return 0, ()
    built = parse_version(manifest.cuda_version)
    here = parse_version(environment.cuda_version)
    newer_than_machine = built is not None and here is not None and built > here
    return (1 if newer_than_machine else 0), tuple(-part for part in (built.release if built else ()))
