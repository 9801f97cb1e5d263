"""Batch inference over large image sets with Ray Data (``pip install 'inference-exp[ray]'``).

::

    import ray
    from inference_exp.integrations.ray import predict_images, read_images_dataset

    ray.init()                                          # or ray.init("ray://head:10001")
    images = read_images_dataset("/data/images")        # one row per file: bytes + path
    predictions = predict_images(images, "workspace/project/3", workers=4, batch_size=8, api_key="...")
    predictions.write_parquet("/data/predictions")      # rows: see inference_exp.integrations.rows

:class:`ModelPredictor` is the callable class given to ``Dataset.map_batches``: each Ray worker (actor)
loads the model once with ``AutoModel.from_pretrained`` (same arguments) and turns batches of encoded
images into prediction rows. Images are decoded inside the worker, so an unreadable file becomes a row with
an ``error`` instead of failing the job; no row is ever dropped. Workers on one node share the model cache
(``INFERENCE_HOME``), whose concurrent first loads are safe.

CPU share of the workers (:func:`plan_workers`): with ``W`` workers on ``N`` nodes of (at least) ``C`` CPUs
each, ``w = ceil(W / N)`` workers share a node, and

* each worker reserves ``(C - r) / w`` logical CPUs, where ``r = min(1, C / 2)`` stays free on every node
  for Ray Data's read and write tasks (a whole CPU per worker deadlocks when ``W >= C``: the read task
  never gets a CPU);
* each worker runs ONNX Runtime (and torch) with ``max(1, C // w)`` threads, so that the workers of a node
  use its cores once between them (ONNX Runtime alone starts one thread per core in every worker).

With GPUs in the cluster and ``device`` unset or ``cuda``, each worker also reserves ``min(1, GPUs / W)``
GPUs (Ray then makes the reserved GPU the worker's ``cuda:0``: pass ``cuda``, not ``cuda:N``).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from inference_exp.backends.factory import ONNX_THREADS_OPTION
from inference_exp.errors import (
    InferenceExpError,
    InvalidInputError,
    InvalidParameterError,
    ModelLoadingError,
)
from inference_exp.inputs.decode import IMAGE_SUFFIXES
from inference_exp.integrations.rows import error_row, prediction_row, rows_to_table
from inference_exp.utils.logging import get_logger

_logger = get_logger("integrations.ray")

DEFAULT_BATCH_SIZE = 8
DEFAULT_TOP_K = 5
#: Columns of :func:`read_images_dataset` rows (Ray's ``read_binary_files(include_paths=True)``).
BYTES_COLUMN, PATH_COLUMN = "bytes", "path"


def require_ray() -> ModuleType:
    """The ``ray`` module, or a :class:`MissingDependencyError` naming the ``ray`` extra."""
    from inference_exp.utils.imports import require

    return require("ray", needed_for="Batch inference with Ray Data", extra="ray", package="ray[data]")


def is_uri(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a URI (``s3://…``, ``local://…``) rather than a path of this machine."""
    return "://" in os.fspath(location)


def _local_path(location: str | os.PathLike[str]) -> str:
    """``location`` made absolute when it exists here (Ray workers do not share the driver's working
    directory); URIs and model ids are returned unchanged."""
    text = os.fspath(location)
    return os.path.abspath(text) if not is_uri(text) and os.path.exists(text) else text


def read_images_dataset(
    input_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], **read_options: Any
) -> Any:
    """A Ray dataset with one row per image file under ``input_dir`` (searched recursively).

    Rows hold the raw file content (``bytes``) and its ``path``; decoding happens in :class:`ModelPredictor`,
    where an unreadable file becomes an error row. Files are selected by extension (the image suffixes of
    ``inference-exp predict``, any case); as everywhere in Ray Data, names starting with ``.`` or ``_`` are
    skipped.

    Raises:
        InvalidInputError: no image file was found.
        FileNotFoundError: a path does not exist.

    Args:
        input_dir: a directory, a file, a URI Ray can read (``s3://…``), or a list of them.
        **read_options: more arguments of ``ray.data.read_binary_files`` (``override_num_blocks``, …).
    """
    ray = require_ray()
    sources = [input_dir] if isinstance(input_dir, (str, os.PathLike)) else list(input_dir)
    try:
        return ray.data.read_binary_files(
            [_local_path(source) for source in sources],
            include_paths=True,
            file_extensions=sorted(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES),
            **read_options,
        )
    except ValueError as error:  # Ray's "No files found under [...]"
        raise InvalidInputError(
            str(error), hint=f"Image files end in {', '.join(sorted(IMAGE_SUFFIXES))} (any case)."
        ) from error


@dataclass(frozen=True)
class WorkerPlan:
    """Resources of each Ray worker (see the module docstring for the rule).

    Attributes:
        workers: number of workers (actors).
        cpus_per_worker: logical CPUs each worker reserves (fractional).
        gpus_per_worker: GPUs each worker reserves (0 on CPU).
        threads: ONNX Runtime intra-op threads and torch threads of each worker.
    """

    workers: int
    cpus_per_worker: float
    gpus_per_worker: float
    threads: int


def plan_workers(workers: int, node_cpus: Sequence[float], *, gpus: float = 0.0) -> WorkerPlan:
    """How much of the cluster each of ``workers`` workers takes (rule in the module docstring).

    Args:
        workers: number of workers.
        node_cpus: the CPU count of every node.
        gpus: GPUs to spread over the workers (0 on CPU).

    Raises:
        InvalidParameterError: ``workers`` is not a positive int, or the cluster has no CPU.
    """
    _check_positive("workers", workers)
    nodes = [cpus for cpus in node_cpus if cpus > 0]
    if not nodes:
        raise InvalidParameterError(
            "the Ray cluster has no CPU to run workers on.", hint="Check `ray status`."
        )
    per_node = math.ceil(workers / len(nodes))
    cpus = min(nodes)
    spare = min(1.0, cpus / 2)
    return WorkerPlan(
        workers=workers,
        cpus_per_worker=math.floor((cpus - spare) / per_node * 1000) / 1000,  # Ray's resolution is 1e-4
        gpus_per_worker=min(1.0, gpus / workers) if gpus > 0 else 0.0,
        threads=max(1, int(cpus // per_node)),
    )


def cluster_worker_plan(workers: int, *, device: str | None = None) -> WorkerPlan:
    """:func:`plan_workers` for the connected Ray cluster (GPUs count when ``device`` is unset or CUDA)."""
    ray = require_ray()
    if not ray.is_initialized():
        ray.init()
    node_cpus = [float(node["Resources"].get("CPU", 0)) for node in ray.nodes() if node.get("Alive")]
    wants_gpu = device is None or str(device).startswith("cuda")
    gpus = float(ray.cluster_resources().get("GPU", 0)) if wants_gpu else 0.0
    return plan_workers(workers, node_cpus, gpus=gpus)


class ModelPredictor:
    """The ``Dataset.map_batches`` class that runs a model: loaded once per worker, called once per batch.

    ::

        dataset.map_batches(
            ModelPredictor, fn_constructor_args=("path/or/id",), fn_constructor_kwargs={"api_key": "..."},
            batch_format="pyarrow", batch_size=8, compute=ray.data.ActorPoolStrategy(size=2), num_cpus=0.5,
        )

    Each output row is :func:`~inference_exp.integrations.rows.prediction_row` of one input row, or
    :func:`~inference_exp.integrations.rows.error_row` when its image cannot be decoded or predicted (the
    reason in ``error``). A batch the model fails on is retried image by image, so one bad image never costs
    the others their predictions.
    """

    def __init__(
        self,
        model_id_or_path: str | os.PathLike[str],
        *,
        params: Mapping[str, Any] | None = None,
        top_k: int = DEFAULT_TOP_K,
        bytes_column: str = BYTES_COLUMN,
        id_column: str = PATH_COLUMN,
        threads: int | None = None,
        **from_pretrained_kwargs: Any,
    ) -> None:
        """Load the model.

        Args:
            model_id_or_path: as for ``AutoModel.from_pretrained``.
            params: inference parameters of every call (``confidence``, ``iou_threshold``, …).
            top_k: classes kept in the ``top_*`` columns of classification rows.
            bytes_column: the input column with the encoded images.
            id_column: the input column that identifies each image (written as ``image_id``).
            threads: CPU threads of this worker, for ONNX Runtime (unless ``onnx_intra_op_num_threads`` is
                given) and torch. Default: inside a Ray worker, the CPUs Ray assigned to it rounded up;
                elsewhere the runtimes' defaults.
            **from_pretrained_kwargs: the other arguments of ``AutoModel.from_pretrained`` (``api_key``,
                ``backend``, ``device``, …).
        """
        from inference_exp import AutoModel

        threads = threads if threads is not None else _assigned_threads()
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
            from_pretrained_kwargs.setdefault(ONNX_THREADS_OPTION, threads)
        self.model = AutoModel.from_pretrained(model_id_or_path, **from_pretrained_kwargs)
        self.params = dict(params or {})
        self.top_k = top_k
        self.bytes_column = bytes_column
        self.id_column = id_column

    def __call__(self, batch: Any) -> Any:
        """Predict a batch (a ``pyarrow.Table``, or a mapping of column → values) into a ``pyarrow.Table`` of
        rows in the same order."""
        from inference_exp.inputs.decode import decode_bytes

        ids = [str(value) for value in _column(batch, self.id_column)]
        rows: list[dict[str, Any] | None] = [None] * len(ids)
        decoded: list[tuple[int, Any]] = []
        for index, (image_id, payload) in enumerate(zip(ids, _column(batch, self.bytes_column), strict=True)):
            try:
                decoded.append(
                    (index, decode_bytes(payload if payload is not None else b"", item=None, source=image_id))
                )
            except Exception as error:  # every unreadable file becomes an error row
                rows[index] = error_row(image_id, error)
        for (index, image), outcome in zip(
            decoded, self._predict([image for _, image in decoded]), strict=True
        ):
            if isinstance(outcome, BaseException):
                rows[index] = error_row(ids[index], outcome)
            else:
                height, width = image.shape[:2]
                rows[index] = prediction_row(
                    ids[index], outcome, image_size=(width, height), top_k=self.top_k
                )
        return rows_to_table(rows)

    def check(self) -> None:
        """Predict one blank image and build its row: raises what a batch would raise for every image
        (e.g. a model whose predictions have no row layout)."""
        import numpy as np

        [outcome] = self._predict([np.full((64, 64, 3), 114, dtype=np.uint8)])
        if isinstance(outcome, BaseException):
            raise outcome
        prediction_row("check", outcome, image_size=(64, 64), top_k=self.top_k)

    def _predict(self, images: list[Any]) -> list[tuple[Any, ...] | BaseException]:
        """One tuple of predictions per image, or the error its prediction raised."""
        from inference_exp.entities.per_image import predictions_per_image

        if not images:
            return []
        try:
            return list(predictions_per_image(self.model(images, **self.params), len(images)))
        except Exception as error:
            if len(images) == 1:
                return [error]
            _logger.warning("A batch of %d images failed (%s); retrying image by image", len(images), error)
        return [outcome for image in images for outcome in self._predict([image])]


def predict_images(
    dataset: Any,
    model_id_or_path: str | os.PathLike[str],
    *,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    params: Mapping[str, Any] | None = None,
    top_k: int = DEFAULT_TOP_K,
    bytes_column: str = BYTES_COLUMN,
    id_column: str = PATH_COLUMN,
    check_model: bool = True,
    **from_pretrained_kwargs: Any,
) -> Any:
    """The dataset of prediction rows of ``dataset`` (lazy: nothing runs until it is consumed or written).

    Args:
        dataset: a Ray dataset with encoded images and their ids (e.g. :func:`read_images_dataset`).
        model_id_or_path: as for ``AutoModel.from_pretrained``.
        workers: number of Ray workers (each loads the model once); resources per :func:`plan_workers`.
        batch_size: images per model call.
        params: inference parameters (``confidence``, ``iou_threshold``, ``max_detections``, …).
        top_k: classes kept in the ``top_*`` columns of classification rows.
        bytes_column: the column with the encoded images.
        id_column: the column that identifies each image.
        check_model: first load the model and predict one blank image in a Ray task (this also fills the
            node's cache), so that a model that cannot load or run fails here with its own error instead of
            inside Ray's worker errors.
        **from_pretrained_kwargs: the other arguments of ``AutoModel.from_pretrained``.

    Raises:
        InvalidParameterError: ``workers``/``batch_size``/``top_k`` is not a positive int.
        MissingDependencyError: Ray is not installed.
        InferenceExpError: (``check_model``) what loading or running the model raised on the cluster.
    """
    for name, value in (("workers", workers), ("batch_size", batch_size), ("top_k", top_k)):
        _check_positive(name, value)
    ray = require_ray()
    plan = cluster_worker_plan(workers, device=from_pretrained_kwargs.get("device"))
    model = _local_path(model_id_or_path)
    constructor_kwargs = {
        "params": dict(params or {}),
        "top_k": top_k,
        "bytes_column": bytes_column,
        "id_column": id_column,
        "threads": plan.threads,
        **from_pretrained_kwargs,
    }
    resources = {"num_cpus": plan.cpus_per_worker, "num_gpus": plan.gpus_per_worker or None}
    _logger.info("Batch plan: %s", plan)
    if check_model:
        verify_model(model, resources=resources, **constructor_kwargs)
    return dataset.map_batches(
        ModelPredictor,
        fn_constructor_args=(model,),
        fn_constructor_kwargs=constructor_kwargs,
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=plan.workers),
        **resources,
    )


def verify_model(
    model_id_or_path: str | os.PathLike[str],
    *,
    resources: Mapping[str, Any] | None = None,
    **predictor_kwargs: Any,
) -> None:
    """Build a :class:`ModelPredictor` in a Ray task and :meth:`~ModelPredictor.check` it; raise its error
    here.

    Library errors come back with their type and message (``ModelNotFoundError``, ``MissingDependencyError``,
    …); any other error as a :class:`ModelLoadingError` naming its type.

    Args:
        model_id_or_path: the model.
        resources: Ray resources of the task (``num_cpus``, ``num_gpus``), those of a worker.
        **predictor_kwargs: the :class:`ModelPredictor` arguments.
    """
    ray = require_ray()
    options = {k: v for k, v in (resources or {}).items() if v is not None}
    task = ray.remote(max_calls=1)(_check_predictor).options(**options)  # then the process exits
    failure = ray.get(task.remote(_local_path(model_id_or_path), predictor_kwargs))
    if failure is not None:
        raise failure.rebuild()


@dataclass(frozen=True)
class _RemoteFailure:
    """An exception as plain data, so that it crosses process boundaries whatever its constructor needs."""

    module: str
    name: str
    message: str
    hint: str | None
    attributes: Mapping[str, Any]

    @classmethod
    def of(cls, error: BaseException) -> _RemoteFailure:
        library = isinstance(error, InferenceExpError)
        plain = (str, int, float, bool, type(None))
        return cls(
            module=type(error).__module__,
            name=type(error).__name__,
            message=error.message if library else str(error),
            hint=error.hint if library else None,
            attributes={k: v for k, v in vars(error).items() if isinstance(v, plain)} if library else {},
        )

    def rebuild(self) -> InferenceExpError:
        """The library error of the same type and text, else a ModelLoadingError that names the type."""
        import inference_exp.errors as errors

        kind = getattr(errors, self.name, None) if self.module == errors.__name__ else None
        if not (isinstance(kind, type) and issubclass(kind, InferenceExpError)):
            return ModelLoadingError(f"Loading the model on a Ray worker failed: {self.name}: {self.message}")
        error = kind.__new__(kind)  # its own __init__ may need arguments that did not travel
        InferenceExpError.__init__(error, self.message, hint=self.hint)
        error.__dict__.update(self.attributes)
        return error


def _check_predictor(model_id_or_path: str, predictor_kwargs: dict[str, Any]) -> _RemoteFailure | None:
    """Ray task of :func:`verify_model`: ``None`` when the model loads and predicts, else the failure."""
    try:
        ModelPredictor(model_id_or_path, **predictor_kwargs).check()
    except Exception as error:
        return _RemoteFailure.of(error)
    return None


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidParameterError(f"{name} must be a positive int, not {value!r}.")


def _assigned_threads() -> int | None:
    """Inside a Ray worker: the CPUs Ray assigned to it, rounded up (at least 1); elsewhere ``None``."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    try:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except AssertionError:  # Ray's answer in the driver, which is no worker
        return None
    return max(1, math.ceil(cpus)) if cpus else None


def _column(batch: Any, name: str) -> list[Any]:
    """The values of one column of a ``pyarrow.Table`` or a mapping of column → sequence."""
    try:
        values = batch[name]
    except KeyError as error:
        raise InvalidParameterError(
            f"the dataset has no column {name!r}.", hint="Pass bytes_column=/id_column=."
        ) from error
    return values.to_pylist() if hasattr(values, "to_pylist") else list(values)
