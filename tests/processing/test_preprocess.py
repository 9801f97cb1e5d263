"""Pre-processing driven by inference_config.json: steps, tensor assembly, numpy and torch paths."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from inference_exp.errors import InvalidInputError, InvalidParameterError
from inference_exp.inputs import NormalizedImage, normalize_images
from inference_exp.packages.inference_config import parse_inference_config
from inference_exp.processing import Size, build_preprocessor, image_ops, tensor_ops
from inference_exp.processing.preprocess import TensorAssembler
from inference_exp.processing.transforms import RESIZE_MODES

RNG = np.random.default_rng(7)


def make_config(pre: dict[str, Any] | None = None, **network: Any):
    base = {
        "training_input_size": {"height": 64, "width": 96},
        "dynamic_spatial_size_supported": False,
        "color_mode": "rgb",
        "resize_mode": "letterbox",
        "padding_value": 114,
        "input_channels": 3,
        "scaling_factor": 255,
    }
    return parse_inference_config({"image_pre_processing": pre or {}, "network_input": base | network})


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A uint8 BGR image with gradients and some texture (bilinear resizing behaves on it)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = [
        127 + 100 * np.sin(x / max(width, 1) * 6 + seed),
        127 + 100 * np.cos(y / max(height, 1) * 5),
        (x + y) / (height + width) * 255,
    ]
    image = np.stack(channels, axis=-1) + rng.normal(0, 4, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


# --- tensor assembly ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("color_mode", ["rgb", "bgr"])
@pytest.mark.parametrize("normalization", [None, ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
@pytest.mark.parametrize("scaling_factor", [255.0, None])
def test_assembly_channel_order_scaling_and_normalisation(color_mode, normalization, scaling_factor):
    image = smooth_image(20, 30)  # BGR
    assembler = TensorAssembler(color_mode, scaling_factor, normalization)
    expected = image[:, :, ::-1] if color_mode == "rgb" else image
    expected = expected.transpose(2, 0, 1).astype(np.float64)
    if scaling_factor is not None:
        expected = expected / scaling_factor
    if normalization is not None:
        expected = (expected - np.array(normalization[0])[:, None, None]) / np.array(normalization[1])[:, None, None]
    out = np.empty((3, 20, 30), np.float32)
    assembler.numpy_into(image, "bgr", out)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    # the torch path does the same arithmetic: identical on integer-valued inputs
    tensor = assembler.tensor(torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32)), "bgr")
    assert torch.equal(tensor, torch.from_numpy(out))
    # an RGB image of the same picture gives the same tensor
    assembler.numpy_into(np.ascontiguousarray(image[:, :, ::-1]), "rgb", rgb_out := np.empty_like(out))
    assert np.array_equal(rgb_out, out)


def test_batch_of_different_sizes_gets_one_record_each():
    pre = build_preprocessor(make_config())
    images = [smooth_image(30, 50), smooth_image(200, 21), smooth_image(1, 300), smooth_image(64, 96)]
    batch, transforms = pre(images)
    assert batch.shape == (4, 3, 64, 96) and batch.dtype == torch.float32 and batch.is_contiguous()
    assert [t.original_size for t in transforms] == [Size(30, 50), Size(200, 21), Size(1, 300), Size(64, 96)]
    for row, image, transform in zip(batch, images, transforms, strict=True):
        single, _ = pre(image)
        assert torch.equal(single[0], row)
        # padding rows/columns hold the fill value, scaled
        if transform.pad_left:
            assert torch.allclose(row[:, :, 0], torch.tensor(114 / 255))


def test_raw_and_normalised_inputs_agree():
    pre = build_preprocessor(make_config())
    image = smooth_image(40, 41)
    from_raw, _ = pre(image)
    from_list, _ = pre([image])
    from_normalized, _ = pre(normalize_images(image))
    rgb_raw, _ = pre(np.ascontiguousarray(image[:, :, ::-1]), input_color_format="rgb")
    assert torch.equal(from_raw, from_list) and torch.equal(from_raw, from_normalized)
    assert torch.equal(from_raw, rgb_raw)


# --- torch path --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", RESIZE_MODES)
def test_tensor_path_is_close_to_numpy_path(mode):
    config = make_config(resize_mode=mode, training_input_size={"height": 64, "width": 64})
    pre = build_preprocessor(config)
    image = smooth_image(90, 70)
    rgb = torch.from_numpy(np.ascontiguousarray(image[:, :, ::-1])).permute(2, 0, 1)
    from_numpy, transforms_numpy = pre(image)
    from_uint8, transforms_tensor = pre(rgb)
    from_float, _ = pre(rgb.float() / 255)
    assert transforms_numpy == transforms_tensor
    assert from_numpy.shape == from_uint8.shape
    # bilinear in float vs OpenCV's fixed-point uint8: within a couple of grey levels
    assert (from_numpy - from_uint8).abs().max() <= 2.5 / 255
    assert torch.allclose(from_uint8, from_float, atol=1e-5)


def test_tensor_inputs_never_touch_the_numpy_path(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("numpy path used for a tensor input")

    for name in ("crop", "to_grayscale", "resize_and_pad"):
        monkeypatch.setattr(image_ops, name, forbidden)
    monkeypatch.setattr(TensorAssembler, "numpy_into", forbidden)
    monkeypatch.setattr(tensor_ops, "numpy_image_to_tensor", forbidden)
    config = make_config(
        {"static-crop": {"enabled": True, "x_min": 10, "y_min": 0, "x_max": 90, "y_max": 100},
         "grayscale": {"enabled": True},
         "contrast": {"enabled": True, "type": "Contrast Stretching"}},
        resize_mode="letterbox-reflect-edges",
    )
    batch, _ = build_preprocessor(config)(torch.randint(0, 256, (3, 50, 80), dtype=torch.uint8))
    assert batch.shape == (1, 3, 64, 96)


def test_device_upload_path_equals_the_host_lookup_path():
    """Off the CPU, numpy images are uploaded as uint8 and assembled by the torch code: same numbers."""
    assembler = TensorAssembler("rgb", 255.0, ((0.5, 0.4, 0.3), (0.2, 0.25, 0.3)))
    image = smooth_image(50, 70)
    host = np.empty((3, 50, 70), np.float32)
    assembler.numpy_into(image, "bgr", host)
    uploaded = assembler.tensor(tensor_ops.numpy_image_to_tensor(image, torch.device("cpu")), "bgr")
    assert torch.equal(uploaded, torch.from_numpy(host))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_pipeline_stays_on_the_device():
    config = make_config({"grayscale": {"enabled": True}, "contrast": {"enabled": True, "type": "Histogram Equalization"}})
    pre = build_preprocessor(config)
    image = smooth_image(90, 70)
    on_cpu, _ = pre(image)
    from_numpy, _ = pre(image, device="cuda")
    assert from_numpy.device.type == "cuda" and torch.allclose(from_numpy.cpu(), on_cpu, atol=1e-6)
    tensor = torch.from_numpy(np.ascontiguousarray(image[:, :, ::-1])).permute(2, 0, 1).cuda()
    from_tensor, _ = pre(tensor, device="cuda")
    assert from_tensor.device.type == "cuda"
    assert (from_tensor.cpu() - on_cpu).abs().max() <= 3.5 / 255


# --- resize modes ------------------------------------------------------------------------------------------


def test_reflect_edges_really_reflects_on_both_paths():
    config = make_config(resize_mode="letterbox-reflect-edges", training_input_size={"height": 64, "width": 64})
    pre = build_preprocessor(config)
    image = smooth_image(20, 64)  # resized 64x20, 22 rows of padding top and bottom: wider than the image
    batch, (transform,) = pre(image)
    assert (transform.pad_top, transform.pad_bottom) == (22, 22)
    resized = cv2.resize(image, (64, 20), interpolation=cv2.INTER_LINEAR)
    # numpy's "reflect" is reflect-101 (no edge repetition); repeat it for borders wider than the image
    expected = resized
    while expected.shape[0] < 64:
        grow = min(22 - (expected.shape[0] - 20) // 2, expected.shape[0] - 1)
        expected = np.pad(expected, ((grow, grow), (0, 0), (0, 0)), mode="reflect")
    expected_tensor = torch.from_numpy(expected[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) / 255)
    assert torch.equal(batch[0], expected_tensor)
    for length, before, after in ((5, 9, 9), (1, 3, 2), (2, 7, 0), (7, 0, 20)):
        rows = tensor_ops.reflect_101_indices(length, before, after, torch.device("cpu")).tolist()
        by_opencv = cv2.copyMakeBorder(np.arange(length, dtype=np.uint8)[:, None], before, after, 0, 0,
                                       cv2.BORDER_REFLECT_101)
        assert rows == by_opencv[:, 0].tolist()
    # the tensor path mirrors the same way
    tensor_batch, _ = pre(torch.from_numpy(np.ascontiguousarray(resized[:, :, ::-1])).permute(2, 0, 1))
    assert torch.allclose(tensor_batch[0], expected_tensor, atol=1e-6)


def test_center_crop_pads_with_zero_and_crops():
    config = make_config(resize_mode="center-crop", training_input_size={"height": 10, "width": 10})
    image = smooth_image(14, 6)
    batch, (transform,) = build_preprocessor(config)(image)
    assert (transform.pad_top, transform.pad_bottom, transform.pad_left, transform.pad_right) == (-2, -2, 2, 2)
    expected = np.zeros((10, 10, 3), np.uint8)
    expected[:, 2:8] = image[2:12]
    assert torch.equal(batch[0], torch.from_numpy(expected[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) / 255))


def test_fit_longer_edge_single_image_and_mismatched_batch():
    config = make_config(resize_mode="fit-longer-edge", training_input_size={"height": 64, "width": 64})
    pre = build_preprocessor(config)
    batch, (transform,) = pre(smooth_image(100, 50))
    assert batch.shape == (1, 3, 64, 32) and transform.network_size == Size(64, 32)
    same_aspect, _ = pre([smooth_image(100, 50), smooth_image(200, 100)])
    assert same_aspect.shape == (2, 3, 64, 32)
    with pytest.raises(InvalidInputError, match="different network sizes"):
        pre([smooth_image(100, 50), smooth_image(50, 100)])


# --- dynamic spatial size ----------------------------------------------------------------------------------


def test_dynamic_size_pad_to_be_divisible_and_any_size():
    divisible = build_preprocessor(make_config(
        dynamic_spatial_size_supported=True, dynamic_spatial_size_mode={"type": "pad-to-be-divisible", "value": 32}
    ))
    assert divisible.target_size(500) == Size(512, 512)
    assert divisible.target_size((300, 200)) == Size(224, 320)
    batch, (transform,) = divisible(smooth_image(30, 60), image_size=(300, 200))
    assert batch.shape == (1, 3, 224, 320) and transform.network_size == Size(224, 320)
    any_size = build_preprocessor(make_config(dynamic_spatial_size_supported=True,
                                              dynamic_spatial_size_mode={"type": "any-size"}))
    assert any_size.target_size((301, 199)) == Size(199, 301)
    assert any_size.target_size(None) == Size(64, 96)
    for bad in (0, -5, (10,), (10, 0), 2.5, True, "640"):
        with pytest.raises(InvalidParameterError):
            any_size.target_size(bad)


def test_static_size_package_ignores_the_request_with_a_warning(caplog):
    pre = build_preprocessor(make_config())
    with caplog.at_level(logging.WARNING, logger="inference_exp"):
        batch, _ = pre(smooth_image(30, 30), image_size=320)
        pre(smooth_image(30, 30), image_size=320)
    assert batch.shape == (1, 3, 64, 96)
    assert sum("image_size=320 ignored" in r.getMessage() for r in caplog.records) == 1


# --- dataset transforms ------------------------------------------------------------------------------------


def test_static_crop_equals_cropping_by_hand():
    config = make_config({"static-crop": {"enabled": True, "x_min": 10, "y_min": 20, "x_max": 60, "y_max": 90}})
    pre = build_preprocessor(config)
    image = smooth_image(101, 203)
    batch, (transform,) = pre(image)
    x0, y0, x1, y1 = int(0.1 * 203), int(0.2 * 101), int(0.6 * 203), int(0.9 * 101)
    by_hand, (plain,) = build_preprocessor(make_config())(np.ascontiguousarray(image[y0:y1, x0:x1]))
    assert torch.equal(batch, by_hand)
    assert transform.crop_offset == (x0, y0) and transform.size_after_crop == plain.original_size
    assert transform.original_size == Size(101, 203)
    skipped, (no_crop,) = pre(image, disable_static_crop=True)
    assert no_crop.crop_offset == (0, 0) and not torch.equal(skipped, batch)


def test_grayscale_uses_the_real_channel_order():
    config = make_config({"grayscale": {"enabled": True}})
    pre = build_preprocessor(config)
    bgr = smooth_image(40, 50)
    from_bgr, _ = pre(bgr)
    from_rgb, _ = pre(np.ascontiguousarray(bgr[:, :, ::-1]), input_color_format="rgb")
    from_tensor, _ = pre(torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1])).permute(2, 0, 1))
    assert torch.equal(from_bgr, from_rgb)
    assert torch.equal(from_bgr[0, 0], from_bgr[0, 1]) and torch.equal(from_bgr[0, 1], from_bgr[0, 2])
    assert torch.allclose(from_tensor[0, 0], from_tensor[0, 2])
    assert (from_bgr - from_tensor).abs().max() <= 2.5 / 255
    luma = 0.299 * bgr[..., 2] + 0.587 * bgr[..., 1] + 0.114 * bgr[..., 0]
    gray = image_ops.to_grayscale(bgr, "bgr")
    assert np.abs(gray[..., 0].astype(float) - luma).max() <= 1.0
    assert not torch.equal(pre(bgr, disable_grayscale=True)[0], from_bgr)


def reference_stretch(image: np.ndarray) -> np.ndarray:
    """scikit-image rescale_intensity(image, in_range=(p2, p98)) on uint8, written out."""
    p2, p98 = np.percentile(image, (2, 98))
    clipped = np.clip(image, p2, p98).astype(np.float64)
    if p98 == p2:
        return np.clip(clipped, 0, 255).astype(np.uint8)
    return np.asarray((clipped - p2) / (p98 - p2) * 255.0, dtype=np.uint8)


def reference_equalize(image: np.ndarray) -> np.ndarray:
    """scikit-image equalize_hist(image / 255) * 255, written out with numpy on the whole image."""
    values = image.astype(np.float64) / 255.0
    hist, edges = np.histogram(values, bins=256)
    centers = (edges[:-1] + edges[1:]) / 2
    cdf = np.cumsum(hist) / hist.sum()
    return (np.interp(values.ravel(), centers, cdf).reshape(image.shape) * 255.0).astype(np.uint8)


@pytest.mark.parametrize("seed", range(6))
def test_contrast_stretching_and_equalisation_match_the_scikit_semantics(seed):
    rng = np.random.default_rng(seed)
    low, high = sorted(rng.integers(0, 256, 2))
    image = rng.integers(low, high + 1, (37, 53, 3), dtype=np.uint8) if seed else np.full((5, 5, 3), 77, np.uint8)
    assert np.array_equal(image_ops.enhance_contrast(image, "Contrast Stretching"), reference_stretch(image))
    assert np.array_equal(image_ops.enhance_contrast(image, "Histogram Equalization"), reference_equalize(image))
    counts = np.bincount(image.ravel(), minlength=256)
    for q in (0, 2, 37.5, 98, 100):
        assert image_ops.percentile_from_counts(counts, q) == np.percentile(image, q)
    # the torch versions keep float precision but agree to within the uint8 truncation
    tensor = torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32))
    for mode, reference in (("Contrast Stretching", reference_stretch), ("Histogram Equalization", reference_equalize)):
        ours = tensor_ops.enhance_contrast(tensor, mode).permute(1, 2, 0).numpy()
        assert np.abs(ours - reference(image)).max() < 1.0 + 1e-3


def test_adaptive_equalisation_raises_local_contrast_and_keeps_grey_nearly_grey():
    rng = np.random.default_rng(3)
    dull = (100 + rng.normal(0, 3, (120, 160))).clip(0, 255).astype(np.uint8)
    grey = np.repeat(dull[:, :, None], 3, axis=2)
    equalized = image_ops.enhance_contrast(grey, "Adaptive Equalization")
    assert equalized.shape == grey.shape and equalized.dtype == np.uint8
    assert equalized.std() > 2 * grey.std()
    channels = equalized.astype(int)
    assert np.abs(channels[..., 0] - channels[..., 1]).max() <= 3 and np.abs(channels[..., 0] - channels[..., 2]).max() <= 3
    tensor = tensor_ops.enhance_contrast(torch.from_numpy(grey).permute(2, 0, 1).float(), "Adaptive Equalization")
    assert np.array_equal(tensor.permute(1, 2, 0).numpy().astype(np.uint8), equalized)


def test_contrast_step_runs_after_crop_and_grayscale_and_can_be_disabled():
    config = make_config({"grayscale": {"enabled": True}, "contrast": {"enabled": True, "type": "Contrast Stretching"}})
    pre = build_preprocessor(config)
    image = smooth_image(48, 64)
    batch, _ = pre(image)
    by_hand = image_ops.enhance_contrast(image_ops.to_grayscale(image, "bgr"), "Contrast Stretching")
    expected, _ = build_preprocessor(make_config())(by_hand)
    assert torch.equal(batch, expected)
    assert not torch.equal(pre(image, disable_contrast=True)[0], batch)


def test_auto_orient_flag_comes_from_the_config(tmp_path: Path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    Image.fromarray(smooth_image(20, 40)[:, :, ::-1]).save(path, exif=exif)
    oriented = build_preprocessor(make_config())
    as_stored = build_preprocessor(make_config({"auto-orient": {"enabled": False}}))
    assert oriented.auto_orient and not as_stored.auto_orient
    assert oriented(str(path))[1][0].original_size == Size(40, 20)
    assert as_stored(str(path))[1][0].original_size == Size(20, 40)


def test_substituted_resize_mode_and_fill():
    pre = build_preprocessor(make_config(resize_mode="fit-longer-edge"), resize_mode="letterbox", padding_value=127)
    batch, (transform,) = pre(smooth_image(64, 48))
    assert batch.shape == (1, 3, 64, 96) and transform.pad_left == 24
    assert torch.allclose(batch[0, :, :, 0], torch.tensor(127 / 255))
    with pytest.raises(InvalidParameterError):
        build_preprocessor(make_config(), resize_mode="squash")  # type: ignore[arg-type]


def test_normalized_image_objects_are_used_as_given():
    rgb = np.ascontiguousarray(smooth_image(10, 12)[:, :, ::-1])
    pre = build_preprocessor(make_config(color_mode="bgr"))
    given, _ = pre([NormalizedImage(rgb, "rgb")])
    raw, _ = pre(rgb, input_color_format="rgb")
    assert torch.equal(given, raw)
    assert not torch.equal(given, pre(rgb)[0])  # read as BGR, the channels would not be swapped
