"""Run every check on every package, rank the survivors and record why the others were rejected."""

from __future__ import annotations

from dataclasses import replace

from inference_exp.errors import AmbiguousModelPackageResolutionError, InvalidParameterError
from inference_exp.negotiation import backend_filters, filters
from inference_exp.negotiation.decision import NegotiationDecision, PackageVerdict, Verdict
from inference_exp.negotiation.ranking import rank_packages
from inference_exp.negotiation.reason import Check, Reason
from inference_exp.negotiation.request import NegotiationRequest
from inference_exp.packages.manifests import ModelMetadata, ModelPackage
from inference_exp.runtime.detection import describe_compute_environment
from inference_exp.runtime.devices import default_device, device_index, device_type
from inference_exp.runtime.environment import RuntimeEnvironment

# Every check after the implementation check, in the order reasons are listed. All of them run, so a user
# sees everything that stands between a package and this machine at once.
PACKAGE_CHECKS: tuple[Check, ...] = (
    filters.trust_check,
    filters.requested_backend_check,
    filters.batch_size_check,
    filters.quantization_check,
    backend_filters.onnx_installed_check,
    backend_filters.onnx_providers_check,
    backend_filters.onnx_opset_check,
    backend_filters.torch_installed_check,
    backend_filters.transformers_installed_check,
    backend_filters.torch_device_check,
    backend_filters.torchscript_check,
    backend_filters.trt_installed_check,
    backend_filters.trt_machine_check,
    backend_filters.trt_device_check,
    backend_filters.trt_version_check,
    filters.nms_fusion_check,
)


def evaluate_packages(
    metadata: ModelMetadata,
    request: NegotiationRequest | None = None,
    *,
    environment: RuntimeEnvironment | None = None,
) -> NegotiationDecision:
    """Decide about every package of ``metadata``; never raises because nothing fits (see :func:`negotiate`).

    Args:
        metadata: the model and its packages (unusable entries are reported as rejected).
        request: the caller's constraints (default: none).
        environment: the machine to decide for (default: this one, see ``describe_compute_environment``).

    Raises:
        AmbiguousModelPackageResolutionError: ``model_package_id`` matches several packages.
        InvalidParameterError: the requested CUDA device index does not exist here.
    """
    environment = environment if environment is not None else describe_compute_environment()
    request = request if request is not None else NegotiationRequest()
    device = request.device if request.device is not None else default_device(environment)
    _check_device_exists(device, environment)
    asked = request
    request = replace(request, device=device)  # checks see the resolved device

    if request.model_package_id is not None:
        reasons = _select_by_id(metadata, request, environment)
    else:
        checks = (
            filters.implementation_check(metadata.model_architecture, metadata.task_type),
            *PACKAGE_CHECKS,
        )
        reasons = [
            [reason for check in checks if (reason := check(package, environment, request)) is not None]
            for package in metadata.packages
        ]
    usable = [package for package, found in zip(metadata.packages, reasons, strict=True) if not found]
    candidates = rank_packages(usable, environment, request)

    verdicts = [_verdict(package, rank=rank, reasons=[]) for rank, package in enumerate(candidates, start=1)]
    verdicts += [
        _verdict(package, rank=None, reasons=found)
        for package, found in zip(metadata.packages, reasons, strict=True)
        if found
    ]
    verdicts += [
        PackageVerdict(
            package_id=unusable.package_id,
            backend="?",
            quantization="?",
            batch="?",
            trusted=None,
            verdict=Verdict.REJECTED,
            rank=None,
            reasons=(unusable.reason,),
        )
        for unusable in metadata.unusable_packages
    ]
    return NegotiationDecision(
        model_id=metadata.model_id,
        model_architecture=metadata.model_architecture,
        task_type=metadata.task_type,
        device=device,
        request=asked,
        environment=environment,
        candidates=tuple(candidates),
        verdicts=tuple(verdicts),
        suggested_extras=tuple(dict.fromkeys(extra for v in verdicts for extra in v.extras)),
    )


def negotiate(
    metadata: ModelMetadata,
    request: NegotiationRequest | None = None,
    *,
    environment: RuntimeEnvironment | None = None,
) -> NegotiationDecision:
    """Like :func:`evaluate_packages`, but a decision without candidates is an error.

    Raises:
        NoModelPackagesAvailableError: no package can run here with the requested options; it lists every
            reason and the extras that would help.
        AmbiguousModelPackageResolutionError: ``model_package_id`` matches several packages.
        InvalidParameterError: the requested CUDA device index does not exist here.
    """
    decision = evaluate_packages(metadata, request, environment=environment)
    if not decision.candidates:
        raise decision.no_packages_error()
    return decision


def _select_by_id(
    metadata: ModelMetadata, request: NegotiationRequest, environment: RuntimeEnvironment
) -> list[list[Reason]]:
    """``model_package_id`` given: that package, checked for trust only; every other package is not it."""
    wanted = request.model_package_id
    matches = [package for package in metadata.packages if package.package_id == wanted]
    if len(matches) > 1:
        raise AmbiguousModelPackageResolutionError(
            f"model_package_id={wanted!r} matches {len(matches)} packages of model {metadata.model_id!r}."
        )
    not_requested = Reason(f"not the requested package (model_package_id={wanted})")
    reasons: list[list[Reason]] = []
    for package in metadata.packages:
        if package.package_id != wanted:
            reasons.append([not_requested])
        else:
            trust = filters.trust_check(package, environment, request)
            reasons.append([trust] if trust is not None else [])
    return reasons


def _verdict(package: ModelPackage, *, rank: int | None, reasons: list[Reason]) -> PackageVerdict:
    # Extras are suggested only for packages that nothing but missing runtimes keeps out.
    unlocking = reasons and all(reason.extras for reason in reasons)
    verdict = Verdict.REJECTED if rank is None else (Verdict.CHOSEN if rank == 1 else Verdict.CANDIDATE)
    return PackageVerdict(
        package_id=package.package_id,
        backend=package.backend.value,
        quantization=package.quantization.value,
        batch=filters.describe_batch(package),
        trusted=package.trusted_source,
        verdict=verdict,
        rank=rank,
        reasons=tuple(str(reason) for reason in reasons),
        extras=tuple(dict.fromkeys(e for reason in reasons for e in reason.extras)) if unlocking else (),
        package=package,
    )


def _check_device_exists(device: str, environment: RuntimeEnvironment) -> None:
    index = device_index(device)
    if (
        device_type(device) == "cuda"
        and index is not None
        and environment.gpus
        and index >= len(environment.gpus)
    ):
        raise InvalidParameterError(
            f"device {device!r} does not exist: this machine has {len(environment.gpus)} CUDA GPU(s).",
            hint=f"Use cuda:0 to cuda:{len(environment.gpus) - 1}.",
        )
