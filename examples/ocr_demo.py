#!/usr/bin/env python3
"""Read the text of an image with PaddleOCR's PP-OCRv4 models, offline.

Install the models once (``scripts/install_ppocr_packages.py``, or ``make demo`` which does everything), then::

    python examples/ocr_demo.py [IMAGE] [--expected TEXT_FILE] [--output-dir demo-output]

Prints the recognised lines (box, detection and recognition confidence, text), writes the image annotated with
the text quadrilaterals and the text next to it, plus the result as JSON, into ``--output-dir``, and — when the
known text of the image is available (``IMAGE`` with a ``.txt`` suffix, or ``--expected``) — how the recognised
lines compare with it.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference_exp.entities.ocr import OCRResult
from inference_exp.models.ppocr import OCRPipeline

ASSETS = Path(__file__).resolve().parent / "assets"
#: Lines at least this similar (difflib ratio) to an expected line count as found, with errors.
SIMILAR = 0.8


@dataclass(frozen=True)
class LineMatch:
    """An expected line and the recognised line that matches it best (``None`` when none is left)."""

    expected: str
    recognised: str | None
    similarity: float

    @property
    def verdict(self) -> str:
        if self.recognised == self.expected:
            return "exact"
        if self.recognised is not None and _no_spaces(self.recognised) == _no_spaces(self.expected):
            return "spaces"
        if self.similarity >= SIMILAR:
            return "similar"
        return "missing"


def _no_spaces(text: str) -> str:
    return "".join(text.split())


def match_lines(expected: list[str], recognised: list[str]) -> list[LineMatch]:
    """Pair expected and recognised lines, most similar pairs first, each line used at most once."""
    pairs = sorted(
        (
            (difflib.SequenceMatcher(None, want, got).ratio(), i, j)
            for i, want in enumerate(expected)
            for j, got in enumerate(recognised)
        ),
        reverse=True,
    )
    matched: dict[int, tuple[int, float]] = {}
    used: set[int] = set()
    for ratio, i, j in pairs:
        if i not in matched and j not in used:
            matched[i] = (j, ratio)
            used.add(j)
    return [
        LineMatch(want, recognised[matched[i][0]], matched[i][1]) if i in matched else LineMatch(want, None, 0.0)
        for i, want in enumerate(expected)
    ]


def character_accuracy(matches: list[LineMatch]) -> float:
    """Share of the expected characters found, in order, in the matched recognised lines."""
    total = sum(len(match.expected) for match in matches)
    found = sum(
        sum(block.size for block in difflib.SequenceMatcher(None, match.expected, match.recognised).get_matching_blocks())
        for match in matches
        if match.recognised is not None
    )
    return found / total if total else 1.0


def annotate(image: np.ndarray, result: OCRResult) -> np.ndarray:
    """The image with the text quadrilaterals, next to a white panel with each text drawn in its quadrilateral."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    height, width = image.shape[:2]
    scale = max(1, round(800 / width))  # small images are enlarged so that the text stays legible
    left = cv2.resize(image, (width * scale, height * scale), interpolation=cv2.INTER_NEAREST)
    right = np.full_like(left, 255)
    for line in result.lines:
        polygon = (np.array(line.polygon) * scale).round().astype(np.int32)
        cv2.polylines(left, [polygon], True, (0, 170, 0), 2)
        cv2.polylines(right, [polygon], True, (200, 200, 200), 1)
        x1, y1, x2, y2 = (value * scale for value in line.xyxy)
        text = line.text.encode("ascii", "replace").decode()  # OpenCV's fonts draw ASCII only
        font_scale = 1.0
        (text_width, text_height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        font_scale = min(0.95 * (x2 - x1) / max(text_width, 1), 0.7 * (y2 - y1) / max(text_height, 1))
        baseline = int((y1 + y2) / 2 + 0.5 * text_height * font_scale)
        cv2.putText(right, text, (int(x1), baseline), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.hstack([left, right])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Read the text of an image with PP-OCRv4 (offline).")
    parser.add_argument("image", nargs="?", default=str(ASSETS / "page.png"), help="image file (default: page.png)")
    parser.add_argument("--expected", help="text file with the known lines (default: the image's .txt, if any)")
    parser.add_argument("--output-dir", default="demo-output", help="where the annotated image and JSON go")
    parser.add_argument("--detector", default="pp-ocrv4-det", help="text detection model id or path")
    parser.add_argument("--recognizer", default="pp-ocrv4-rec", help="text recognition model id or path")
    parser.add_argument(
        "--box-threshold",
        type=float,
        default=0.4,
        help="keep text regions scoring above this (the detector's default is 0.5; the faded fifth line of "
        "page.png scores about 0.45)",
    )
    args = parser.parse_args(argv)
    image_path = Path(args.image)

    started = time.perf_counter()
    pipeline = OCRPipeline.from_pretrained(args.detector, args.recognizer)
    loaded = time.perf_counter()
    [result] = pipeline(image_path, box_threshold=args.box_threshold)
    finished = time.perf_counter()

    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    package = pipeline.detector.loaded_package  # type: ignore[attr-defined]
    print(
        f"OCR of {image_path} ({image.shape[1]}x{image.shape[0]}) with {args.detector} + {args.recognizer} "
        f"({package.backend} on {package.options.device}): models loaded in {loaded - started:.2f} s, "
        f"read in {finished - loaded:.2f} s"
    )
    print(f"{'#':>3}  {'box x1, y1, x2, y2':<22} {'det':>5} {'rec':>5}  text")
    for number, line in enumerate(result.lines, start=1):
        box = ", ".join(f"{value:.0f}" for value in line.xyxy)
        print(f"{number:>3}  {box:<22} {line.detection_confidence:5.2f} {line.confidence:5.2f}  {line.text}")

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    annotated_path = output_dir / f"{image_path.stem}_ocr.png"
    cv2.imwrite(str(annotated_path), annotate(image, result))
    json_path = output_dir / f"{image_path.stem}_ocr.json"
    json_path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nWrote {annotated_path} and {json_path}")

    expected_path = Path(args.expected) if args.expected else image_path.with_suffix(".txt")
    if not expected_path.is_file():
        return 0
    expected = [line for line in expected_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    matches = match_lines(expected, result.texts)
    print(f"\nCompared with the known text ({expected_path}):")
    for match in matches:
        shown = "-" if match.recognised is None else repr(match.recognised)
        print(f"  {match.verdict:<8} {match.expected!r}" + ("" if match.verdict == "exact" else f"  read as {shown}"))
    counts = {verdict: sum(m.verdict == verdict for m in matches) for verdict in ("exact", "spaces", "similar", "missing")}
    print(
        f"{counts['exact']}/{len(expected)} lines recognised exactly, {counts['spaces']} more equal when spaces are "
        f"ignored, {counts['similar']} similar (>= {SIMILAR:.0%} alike), {counts['missing']} not found; "
        f"{character_accuracy(matches):.1%} of the expected characters read"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
