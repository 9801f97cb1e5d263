"""Image folders for batch-inference tests: drawn images, copies of the fixture images and broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

#: Broken files every folder gets: name → content (the truncated JPEG is filled in from bus.jpg).
BROKEN = {
    "broken/truncated.jpg": None,
    "broken/notes.jpg": b"this is not an image\n",
    "broken/empty.png": b"",
}


def draw_shapes(rng: np.random.Generator) -> np.ndarray:
    """A BGR image with a few filled rectangles, circles and thick lines on a plain background (textures the
    random-weight fixture models respond to)."""
    import cv2

    height, width = (int(v) for v in rng.integers(160, 360, 2))
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = [int(v) for v in rng.integers(0, 256, 3)]
    for _ in range(int(rng.integers(2, 7))):
        colour = [int(v) for v in rng.integers(0, 256, 3)]
        x1, x2 = sorted(int(v) for v in rng.integers(0, width, 2))
        y1, y2 = sorted(int(v) for v in rng.integers(0, height, 2))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, -1)
        elif shape == 1:
            cv2.circle(image, (x1, y1), max(4, (x2 - x1) // 2), colour, -1)
        else:
            cv2.line(image, (x1, y1), (x2, y2), colour, int(rng.integers(2, 12)))
    return image


def make_image_folder(root: Path, fixtures_dir: Path, generated: int, *, seed: int = 0) -> list[Path]:
    """``generated`` drawn images (JPEG and PNG, in two sub-folders), copies of bus.jpg and zidane.jpg (one with
    an upper-case suffix), the :data:`BROKEN` files and a README that is no image. Returns the image files."""
    import cv2

    rng = np.random.default_rng(seed)
    for index in range(generated):
        suffix = ".png" if index % 5 == 0 else ".jpg"
        path = root / f"shapes-{index % 2}" / f"{index:03d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), draw_shapes(rng))
    shutil.copy(fixtures_dir / "images" / "bus.jpg", root / "bus.jpg")
    shutil.copy(fixtures_dir / "images" / "zidane.jpg", root / "zidane.jpg")
    (root / "copies").mkdir()
    shutil.copy(fixtures_dir / "images" / "bus.jpg", root / "copies" / "BUS.JPG")
    bus = (fixtures_dir / "images" / "bus.jpg").read_bytes()
    for name, content in BROKEN.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(bus[: len(bus) // 2] if content is None else content)
    (root / "README.txt").write_text("not an image: no row expected\n")
    return sorted(
        path for path in root.rglob("*") if path.is_file() and path.suffix.lower() in {".jpg", ".png"}
    )
