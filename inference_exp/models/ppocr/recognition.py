"""PP-OCR text recognition (architecture ``pp-ocrv4-rec``, task ``text-only-ocr``): line crops → text.

The network reads a batch of BGR crops normalised to ``(x / 255 - 0.5) / 0.5``, ``(B, 3, 48, W)``, and returns
``(B, T, C)`` per-step class probabilities, decoded greedily (:mod:`~inference_exp.models.ppocr.ctc`) with the
classes of the package's ``characters.txt`` (blank, dictionary, space).

Batching follows PaddleOCR: crops are sorted by aspect ratio and taken ``max_dynamic_batch_size`` (6) at a time;
each crop is stretched to height 48 and ``ceil(48 * w / h)`` wide, and the batch is zero-padded on the right
(zero is mid-grey after normalisation) to ``int(48 * r)`` where ``r`` is the largest aspect ratio in the batch,
at least ``320 / 48``. ``infer`` accepts no parameters besides ``input_color_format``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from inference_exp.entities.ocr import RecognizedText
from inference_exp.errors import CorruptedModelPackageError
from inference_exp.inputs import NormalizedImage, normalize_images
from inference_exp.models.base import LoadOptions
from inference_exp.models.ppocr.ctc import ctc_greedy_decode
from inference_exp.models.ppocr.package import CHARACTERS_FILE, RECOGNITION_BATCH_SIZE, read_characters
from inference_exp.models.tasks import PackageContents, TaskModel, output_of_rank
from inference_exp.packages.inference_config import load_inference_config
from inference_exp.processing import ImageTransform

if TYPE_CHECKING:
    from inference_exp.backends.base import Runner


class PPOCRTextRecognition(TaskModel):
    """PaddleOCR's CTC text recogniser: ``infer(crops)`` returns one :class:`RecognizedText` per crop."""

    task = "text-only-ocr"
    parameters = ()
    post_processing_types = ()

    def __init__(self, package: PackageContents, runner: Runner, options: LoadOptions) -> None:
        super().__init__(package, runner, options)
        self.characters = read_characters(package.directory / CHARACTERS_FILE)
        self._check_characters()

    @classmethod
    def read_package(cls, directory: Path) -> PackageContents:
        """``inference_config.json`` (the characters are read once the runner is open)."""
        return PackageContents(directory=directory, class_names=(), config=load_inference_config(directory))

    def _check_characters(self) -> None:
        """Run the network once on a blank batch: its class count must match ``characters.txt``."""
        size = self.config.network_input.training_input_size
        probe = torch.zeros((1, 3, size.height, size.width), dtype=torch.float32, device=self.input_device)
        classes = output_of_rank(self.forward(probe), 3, "character probabilities").shape[-1]
        if classes != len(self.characters):
            raise CorruptedModelPackageError(
                f"{self.package.directory}: the network predicts {classes} classes but {CHARACTERS_FILE} gives "
                f"{len(self.characters)} (blank + {len(self.characters) - 2} characters + space).",
                hint=f"Use the {CHARACTERS_FILE} that belongs to these weights.",
            )

    @property
    def batch_size(self) -> int:
        """Crops per batch (``forward_pass.max_dynamic_batch_size``, default 6)."""
        return self.config.forward_pass.max_dynamic_batch_size or RECOGNITION_BATCH_SIZE

    def infer(self, images: Any, **params: Any) -> list[RecognizedText]:
        """Read the text of each crop (numpy HWC / torch CHW images, or anything ``normalize_images`` takes)."""
        input_color_format = params.pop("input_color_format", None)
        self.resolve(params)  # no parameters: any keyword is reported as unknown
        crops = normalize_images(images, input_color_format=input_color_format, auto_orient=self.preprocessor.auto_orient)
        ratios = np.array([crop.width / crop.height for crop in crops], dtype=np.float64)
        order = np.argsort(ratios, kind="stable")
        results: list[RecognizedText | None] = [None] * len(crops)
        for start in range(0, len(crops), self.batch_size):
            members = order[start : start + self.batch_size].tolist()
            batch = self._padded_batch([crops[i] for i in members], ratios[members])
            for index, text in zip(members, self.predictions(self.forward(batch), (), {}), strict=True):
                results[index] = text
        return results  # type: ignore[return-value]

    def _padded_batch(self, crops: Sequence[NormalizedImage], ratios: np.ndarray) -> torch.Tensor:
        size = self.config.network_input.training_input_size
        height = size.height
        width = int(height * max(size.width / height, float(ratios.max())))
        batch = torch.zeros((len(crops), 3, height, width), dtype=torch.float32, device=self.input_device)
        for row, (crop, ratio) in enumerate(zip(crops, ratios, strict=True)):
            resized_width = min(math.ceil(height * ratio), width)
            tensor, _ = self.pre_process([crop], image_size=(resized_width, height))
            batch[row, :, :, :resized_width] = tensor[0]
        return batch

    def predictions(
        self, raw: list[torch.Tensor], transforms: Sequence[ImageTransform], values: Mapping[str, Any]
    ) -> list[RecognizedText]:
        """Per-step probabilities → one :class:`RecognizedText` per batch row."""
        return ctc_greedy_decode(output_of_rank(raw, 3, "character probabilities"), self.characters)
