"""The outcome of a negotiation: every package, what was decided about it and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from inference_exp.errors import NoModelPackagesAvailableError
from inference_exp.negotiation.request import NegotiationRequest
from inference_exp.packages.manifests import ModelPackage
from inference_exp.runtime.environment import RuntimeEnvironment


class Verdict(str, Enum):
    """What the negotiation decided about one package."""

    CHOSEN = "chosen"
    CANDIDATE = "candidate"
    REJECTED = "rejected"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PackageVerdict:
    """One package and the decision about it.

    Attributes:
        package_id: the package.
        backend, quantization, batch: display values (``?`` for packages that could not be parsed).
        trusted: whether the package comes from a trusted source (``None`` when unknown).
        verdict: chosen (rank 1), candidate (a fallback, rank > 1) or rejected.
        rank: 1-based position among the candidates; ``None`` when rejected.
        reasons: every reason the package was rejected (empty for candidates).
        extras: extras whose installation alone would make the package usable.
        package: the parsed package (``None`` for unusable entries).
    """

    package_id: str
    backend: str
    quantization: str
    batch: str
    trusted: bool | None
    verdict: Verdict
    rank: int | None
    reasons: tuple[str, ...]
    extras: tuple[str, ...] = ()
    package: ModelPackage | None = None


@dataclass(frozen=True)
class NegotiationDecision:
    """Which packages of a model can run here, best first, and why the others cannot.

    ``str(decision)`` (or :meth:`describe`) renders a table of every package.

    Attributes:
        model_id: the model (or local path).
        model_architecture, task_type: from the model metadata.
        device: the device the decision was made for.
        request: the validated request, as asked (see ``device`` for the device actually used).
        environment: the machine the decision was made for.
        candidates: usable packages, best first (empty when nothing fits).
        verdicts: one entry per package: candidates in rank order, then rejected ones in input order.
        suggested_extras: extras whose installation would make more packages usable.
    """

    model_id: str
    model_architecture: str
    task_type: str | None
    device: str
    request: NegotiationRequest
    environment: RuntimeEnvironment
    candidates: tuple[ModelPackage, ...]
    verdicts: tuple[PackageVerdict, ...]
    suggested_extras: tuple[str, ...] = ()

    @property
    def chosen(self) -> ModelPackage | None:
        """The best package, or ``None`` when nothing fits."""
        return self.candidates[0] if self.candidates else None

    @property
    def rejections(self) -> dict[str, list[str]]:
        """Package id → reasons, for every rejected package."""
        return {v.package_id: list(v.reasons) for v in self.verdicts if v.verdict is Verdict.REJECTED}

    def verdict_for(self, package_id: str) -> PackageVerdict:
        """The verdict about ``package_id`` (``KeyError`` when the model has no such package)."""
        for verdict in self.verdicts:
            if verdict.package_id == package_id:
                return verdict
        raise KeyError(package_id)

    def no_packages_error(self) -> NoModelPackagesAvailableError:
        """The error to raise when :attr:`candidates` is empty."""
        return NoModelPackagesAvailableError(
            self.model_id, self.rejections, suggested_extras=self.suggested_extras
        )

    def describe(self) -> str:
        """A readable table: one row per package with its decision, then its reasons."""
        task = self.task_type or "no task"
        header = (
            f"Model {self.model_id!r} ({self.model_architecture}, {task}) on device {self.device}: "
            f"{len(self.candidates)} usable of {len(self.verdicts)} package(s); request: {self.request.describe()}"
        )
        columns = ("#", "package", "backend", "quant", "batch", "trusted", "decision")
        rows = [
            (
                str(v.rank) if v.rank is not None else "-",
                v.package_id,
                v.backend,
                v.quantization,
                v.batch,
                {True: "yes", False: "no", None: "?"}[v.trusted],
                v.verdict.value,
            )
            for v in self.verdicts
        ]
        widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
        lines = [header, "", _join(columns, widths)]
        for row, verdict in zip(rows, self.verdicts, strict=True):
            lines.append(_join(row, widths))
            lines += [f"      - {reason}" for reason in verdict.reasons]
        if not self.verdicts:
            lines.append("  (the model has no packages)")
        if self.suggested_extras:
            extras = " or ".join(f"pip install 'inference-exp[{extra}]'" for extra in self.suggested_extras)
            lines += ["", f"More packages become usable with: {extras}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


def _join(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
