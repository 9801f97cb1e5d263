"""A rejection reason and the shape of a negotiation check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inference_exp.negotiation.request import NegotiationRequest
    from inference_exp.packages.manifests import ModelPackage
    from inference_exp.runtime.environment import RuntimeEnvironment


@dataclass(frozen=True)
class Reason:
    """Why a package cannot be used here.

    Attributes:
        text: the explanation, including what to change when that is known.
        extras: ``inference-exp`` extras whose installation removes this reason (missing runtimes only).
    """

    text: str
    extras: tuple[str, ...] = ()

    def __str__(self) -> str:
        if not self.extras:
            return self.text
        return (
            self.text + " → " + " or ".join(f"pip install 'inference-exp[{extra}]'" for extra in self.extras)
        )


# A check: (package, environment, request) → the reason it fails, or None. The request's device is resolved.
Check = Callable[["ModelPackage", "RuntimeEnvironment", "NegotiationRequest"], "Reason | None"]
