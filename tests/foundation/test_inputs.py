from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from inference_exp.errors import InvalidInputError, InvalidParameterError
from inference_exp.inputs import normalize_images


def _bgr(h=4, w=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_numpy_image_is_bgr_hwc_by_default_and_kept_as_is():
    image = _bgr()
    [out] = normalize_images(image)
    assert out.color_format == "bgr" and not out.is_tensor
    assert out.data is image or np.shares_memory(out.data, image)
    assert (out.height, out.width) == (4, 5)


def test_color_format_override_applies_to_arrays_and_tensors():
    [a] = normalize_images(_bgr(), input_color_format="rgb")
    [t] = normalize_images(torch.zeros(3, 2, 2, dtype=torch.uint8), input_color_format="bgr")
    assert (a.color_format, t.color_format) == ("rgb", "bgr")
    with pytest.raises(InvalidParameterError):
        normalize_images(_bgr(), input_color_format="hsv")


def test_numpy_batch_and_lists_are_split_in_order():
    batch = np.stack([_bgr(seed=i) for i in range(3)])
    out = normalize_images(batch)
    assert len(out) == 3
    for i, image in enumerate(out):
        np.testing.assert_array_equal(image.data, batch[i])
    mixed = normalize_images([_bgr(seed=7), torch.zeros(3, 6, 7, dtype=torch.uint8)])
    assert [m.is_tensor for m in mixed] == [False, True]
    assert (mixed[1].height, mixed[1].width) == (6, 7)


def test_grey_and_alpha_numpy_images_become_three_channels():
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5)
    for candidate in (grey, grey[:, :, None]):
        [out] = normalize_images(candidate)
        assert out.data.shape == (4, 5, 3)
        for c in range(3):
            np.testing.assert_array_equal(out.data[:, :, c], grey)
    bgra = np.dstack([_bgr(), np.full((4, 5), 9, np.uint8)])
    [out] = normalize_images(bgra)
    np.testing.assert_array_equal(out.data, bgra[:, :, :3])
    assert out.data.flags.c_contiguous


def test_tensors_chw_hwc_batches_grey_alpha_and_float():
    chw = torch.randint(0, 256, (3, 6, 7), dtype=torch.uint8)
    [a] = normalize_images(chw)
    assert a.is_tensor and a.color_format == "rgb" and a.data.shape == (3, 6, 7)
    [b] = normalize_images(chw.permute(1, 2, 0))
    torch.testing.assert_close(b.data, chw)
    out = normalize_images(torch.rand(2, 3, 6, 7))
    assert len(out) == 2 and out[0].data.dtype == torch.float32
    [g] = normalize_images(torch.rand(6, 7))
    assert g.data.shape == (3, 6, 7)
    [rgba] = normalize_images(torch.rand(4, 6, 7))
    assert rgba.data.shape == (3, 6, 7)


def test_image_files_bytes_and_pil(tmp_path: Path):
    image = _bgr(8, 9)
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), image)
    [from_path] = normalize_images(str(path))
    np.testing.assert_array_equal(from_path.data, image)
    assert from_path.color_format == "bgr" and from_path.source == str(path)
    [from_pathlike] = normalize_images(path)
    np.testing.assert_array_equal(from_pathlike.data, image)
    [from_bytes] = normalize_images(path.read_bytes())
    np.testing.assert_array_equal(from_bytes.data, image)
    [from_pil] = normalize_images(Image.fromarray(image[:, :, ::-1]))
    assert from_pil.color_format == "rgb"
    np.testing.assert_array_equal(from_pil.data, image[:, :, ::-1])


def test_exif_orientation_is_applied_to_files_unless_disabled(tmp_path: Path):
    # A 2x3 (h x w) JPEG tagged "rotate 90 CW" (orientation 6) displays as 3x2.
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:, :15] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=100)
    [oriented] = normalize_images(str(path))
    [raw] = normalize_images(str(path), auto_orient=False)
    assert oriented.data.shape[:2] == (30, 20)
    assert raw.data.shape[:2] == (20, 30)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((4, 5, 3), np.float32), "dtype float32; expected uint8"),
        (np.zeros((4, 5, 3), np.int64), "dtype int64; expected uint8"),
        (np.zeros((3, 4, 5), np.uint8), r"expected HWC with 1, 3 or 4 channels"),
        (np.zeros((0, 5, 3), np.uint8), "zero size"),
        (np.zeros((2, 2, 2, 2, 3), np.uint8), "expected HW, HWC or an NHWC batch"),
        (torch.zeros(3, 4, 4, dtype=torch.int32), "dtype torch.int32"),
        (torch.full((3, 4, 4), float("nan")), "NaN or infinite"),
        (torch.full((3, 4, 4), 255.0), r"values in \[255, 255\]; expected 0..1"),
        (torch.zeros(3, 0, 4), "zero size"),
        (torch.zeros(5, 4, 6), "expected 1, 3 or 4 channels"),
        (12345, "unsupported image type int"),
        (b"not an image", "not a decodable image"),
        ([], "empty list"),
    ],
)
def test_bad_inputs_raise_typed_errors(bad, message):
    with pytest.raises(InvalidInputError, match=message):
        normalize_images(bad)


def test_errors_name_the_offending_item(tmp_path: Path):
    good = _bgr()
    with pytest.raises(InvalidInputError, match=r"^images\[2\]: numpy image has dtype float64") as info:
        normalize_images([good, good, good.astype(np.float64)])
    assert info.value.item == 2
    with pytest.raises(InvalidInputError, match=r"images\[1\]: image file '.*missing.jpg' does not exist"):
        normalize_images([good, str(tmp_path / "missing.jpg")])
    truncated = tmp_path / "truncated.png"
    cv2.imwrite(str(truncated), _bgr(50, 50))
    truncated.write_bytes(truncated.read_bytes()[:40])
    with pytest.raises(InvalidInputError, match=r"images\[0\]: .*truncated.png is not a decodable image"):
        normalize_images([str(truncated)])
    with pytest.raises(InvalidInputError, match=r"images\[0\]: a 4-D numpy batch cannot be an element of a list"):
        normalize_images([np.zeros((2, 4, 4, 3), np.uint8)])


def test_normalized_images_pass_through_unchanged():
    first = normalize_images(_bgr())
    again = normalize_images(first)
    assert again == first and again[0] is first[0]
    mixed = normalize_images([first[0], torch.zeros(3, 2, 2, dtype=torch.uint8)])
    assert mixed[0] is first[0] and mixed[1].is_tensor
