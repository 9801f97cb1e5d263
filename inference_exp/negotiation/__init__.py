"""Choosing the package to load: every check as a small pure function, one ranking key, one decision object.

>>> from inference_exp.negotiation import NegotiationRequest, negotiate
>>> decision = negotiate(metadata, NegotiationRequest.from_arguments(backend=["onnx", "torch"], batch_size=4))
>>> decision.chosen                  # the best package
>>> print(decision)                  # every package, its decision and all reasons
"""

from __future__ import annotations

from inference_exp.negotiation.decision import NegotiationDecision, PackageVerdict, Verdict
from inference_exp.negotiation.negotiate import PACKAGE_CHECKS, evaluate_packages, negotiate
from inference_exp.negotiation.ranking import (
    DEFAULT_BACKEND_PRIORITY,
    DEFAULT_QUANTIZATION_PRIORITY,
    ranking_key,
)
from inference_exp.negotiation.reason import Check, Reason
from inference_exp.negotiation.request import NegotiationRequest

__all__ = [
    "DEFAULT_BACKEND_PRIORITY",
    "DEFAULT_QUANTIZATION_PRIORITY",
    "PACKAGE_CHECKS",
    "Check",
    "NegotiationDecision",
    "NegotiationRequest",
    "PackageVerdict",
    "Reason",
    "Verdict",
    "evaluate_packages",
    "negotiate",
    "ranking_key",
]
