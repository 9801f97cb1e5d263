"""Where a model's packages come from.

A provider turns a model id (or a local path) into a :class:`ModelSource`: the model's metadata, how a
chosen package becomes a directory on disk, and which class loads it. ``AutoModel`` negotiates over
``source.metadata`` and then, for each ranked candidate, calls ``source.materialise(package)`` and
``source.model_class(package).from_pretrained(directory, options)``.

Providers: :mod:`~inference_exp.weights_providers.local` (package directories and bare exports) and
:mod:`~inference_exp.weights_providers.remote` (the Roboflow weights API,
:mod:`~inference_exp.weights_providers.roboflow`, behind the verified cache).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inference_exp.models.base import Model
    from inference_exp.packages.manifests import ModelMetadata, ModelPackage


def registry_class_resolver(metadata: ModelMetadata) -> Callable[[ModelPackage], type[Model]]:
    """The default class lookup: the registry entry of (architecture, task, package backend)."""
    from inference_exp.models.registry import resolve_model_class

    def resolve(package: ModelPackage) -> type[Model]:
        return resolve_model_class(metadata.model_architecture, metadata.task_type, package.backend)

    return resolve


@dataclass(frozen=True)
class ModelSource:
    """A model's packages and how to load one.

    Attributes:
        metadata: the model and its packages (what the negotiation decides over).
        materialise: package → a complete, verified local directory (downloads it if needed).
        model_class: package → the :class:`~inference_exp.models.base.Model` subclass that loads it.
        on_loaded: called with the package once a model loaded from it (e.g. to remember the decision).
    """

    metadata: ModelMetadata
    materialise: Callable[[ModelPackage], Path]
    model_class: Callable[[ModelPackage], type[Model]]
    on_loaded: Callable[[ModelPackage], None] | None = None
