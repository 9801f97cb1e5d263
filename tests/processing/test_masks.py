"""Instance masks from prototypes and dense maps, against straightforward full-size reference implementations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inference_exp.errors import InvalidParameterError
from inference_exp.processing import (
    Size,
    dense_maps_to_original,
    instance_masks,
    instance_masks_with_presence,
    plan_transform,
)
from inference_exp.processing.masks import bilinear_matrix, upsample_factor


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    union = (a | b).sum().item()
    return 1.0 if union == 0 else (a & b).sum().item() / union


def pad_or_crop(maps: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Remove positive paddings, zero-pad negative ones (the crops of center-crop)."""
    maps = F.pad(maps, [max(-left, 0), max(-right, 0), max(-top, 0), max(-bottom, 0)])
    return maps[..., max(top, 0) : maps.shape[-2] - max(bottom, 0), max(left, 0) : maps.shape[-1] - max(right, 0)]


def paste(masks: torch.Tensor, transform) -> torch.Tensor:
    height, width = transform.original_size
    canvas = torch.zeros((masks.shape[0], height, width), dtype=torch.bool)
    x, y = transform.crop_offset
    canvas[:, y : y + masks.shape[1], x : x + masks.shape[2]] = masks
    return canvas


def box_region(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(N, height, width)``: pixel (r, c) inside box when x1 <= c < x2 and y1 <= r < y2."""
    columns = torch.arange(width, dtype=torch.float32)[None, None, :]
    rows = torch.arange(height, dtype=torch.float32)[None, :, None]
    x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
    return (columns >= x1) & (columns < x2) & (rows >= y1) & (rows < y2)


def reference_native(prototypes, coefficients, boxes, transform):
    """ultralytics retina path, written out at full size with F.interpolate."""
    m, hp, wp = prototypes.shape
    logits = (coefficients @ prototypes.reshape(m, -1)).reshape(-1, hp, wp)[None]
    th, tw = transform.network_size
    factor = next(
        (f for f in (1, 2, 4) if all(
            float(p * side * f / net).is_integer()
            for p, side, net in ((transform.pad_top, hp, th), (transform.pad_bottom, hp, th),
                                 (transform.pad_left, wp, tw), (transform.pad_right, wp, tw))
        )),
        4,
    )
    if factor > 1:
        logits = F.interpolate(logits, size=(hp * factor, wp * factor), mode="bilinear", align_corners=False)
    cut = [round(p * hp * factor / th) for p in (transform.pad_top, transform.pad_bottom)]
    cut += [round(p * wp * factor / tw) for p in (transform.pad_left, transform.pad_right)]
    logits = pad_or_crop(logits, *cut)
    h, w = transform.size_after_crop
    logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)[0]
    original = transform.boxes_to_original(boxes) - torch.tensor(transform.crop_offset * 2, dtype=torch.float32)
    return paste((logits > 0) & box_region(original, h, w), transform)


def reference_upsample(prototypes, coefficients, boxes, transform):
    """ultralytics default path (retina_masks=False) then scale_masks to the original size."""
    m, hp, wp = prototypes.shape
    logits = (coefficients @ prototypes.reshape(m, -1)).reshape(-1, hp, wp)[None]
    th, tw = transform.network_size
    binary = (F.interpolate(logits, size=(th, tw), mode="bilinear", align_corners=False)[0] > 0) & box_region(boxes, th, tw)
    cropped = pad_or_crop(binary[None].float(), transform.pad_top, transform.pad_bottom, transform.pad_left,
                          transform.pad_right)
    h, w = transform.size_after_crop
    return paste(F.interpolate(cropped, size=(h, w), mode="bilinear", align_corners=False)[0] > 0.5, transform)


SCENES = [
    # (height, width, target (h, w), mode, crop window)
    (1080, 810, (640, 640), "letterbox", None),  # bus.jpg: padding 80 -> factor 1
    (720, 1280, (640, 640), "letterbox", None),  # zidane.jpg
    (400, 600, (640, 640), "letterbox", None),  # paddings 106 / 107 -> factor 2... or 4
    (300, 211, (128, 128), "letterbox", None),
    (97, 203, (96, 160), "letterbox-reflect-edges", (10, 5, 190, 90)),
    (250, 130, (128, 96), "stretch", None),
    (90, 300, (128, 128), "center-crop", None),  # crops horizontally, pads vertically
    (75, 61, (64, 64), "fit-longer-edge", (3, 0, 60, 70)),
]


@pytest.mark.parametrize("method", ["native", "upsample"])
@pytest.mark.parametrize(("height", "width", "target", "mode", "window"), SCENES)
def test_masks_match_the_full_size_reference(method, height, width, target, mode, window):
    transform = plan_transform(height, width, Size(*target), mode, window)
    th, tw = transform.network_size
    generator = torch.Generator().manual_seed(height * 7 + width)
    hp, wp = max(th // 4, 1), max(tw // 4, 1)
    # smooth prototypes (random at 1/4 of their resolution, upsampled) make blob-like masks
    coarse = torch.randn((8, max(hp // 4, 2), max(wp // 4, 2)), generator=generator)
    prototypes = F.interpolate(coarse[None], size=(hp, wp), mode="bilinear", align_corners=False)[0]
    coefficients = torch.randn((12, 8), generator=generator)
    corners = torch.rand((12, 2, 2), generator=generator) * torch.tensor([tw, th]) * 1.2 - torch.tensor([tw, th]) * 0.1
    boxes = torch.cat([corners.min(dim=1).values, corners.max(dim=1).values], dim=1)
    boxes[0] = torch.tensor([0.0, 0.0, tw, th])  # the whole input
    boxes[1] = torch.tensor([5.0, 5.0, 5.0, 9.0])  # empty
    ours = instance_masks(prototypes, coefficients, boxes, transform, method=method)
    reference = (reference_native if method == "native" else reference_upsample)(prototypes, coefficients, boxes, transform)
    assert ours.shape == (12, height, width) and ours.dtype == torch.bool
    assert not ours[1].any()
    ious = [mask_iou(a, b) for a, b in zip(ours, reference, strict=True)]
    assert min(ious) >= 0.999, ious
    assert sum(int(m.sum()) for m in reference) > 0  # the scene is not trivially empty


def test_upsample_factor_puts_padding_on_whole_pixels():
    def factor(pad_top: int, pad_bottom: int) -> int:
        transform = plan_transform(640 - pad_top - pad_bottom, 640, Size(640, 640), "letterbox")
        transform = type(transform)(**{**transform.__dict__, "pad_top": pad_top, "pad_bottom": pad_bottom})
        return upsample_factor((160, 160), transform)

    assert factor(80, 80) == 1
    assert factor(82, 82) == 2
    assert factor(81, 82) == 4
    assert factor(106, 107) == 4


def test_bilinear_matrix_is_torch_interpolate():
    generator = torch.Generator().manual_seed(0)
    for in_size, out_size in ((7, 19), (19, 7), (160, 1080), (5, 5), (1, 4), (4, 1)):
        signal = torch.randn((in_size, 3), generator=generator, dtype=torch.float64)
        expected = F.interpolate(signal.T[None, :, :, None].expand(1, 3, in_size, 2), size=(out_size, 2),
                                 mode="bilinear", align_corners=False)[0, :, :, 0].T
        ours = torch.from_numpy(bilinear_matrix(in_size, out_size)) @ signal
        assert torch.allclose(ours, expected, atol=1e-9)


def test_no_instances_and_bad_method():
    transform = plan_transform(50, 40, Size(32, 32), "letterbox")
    empty = instance_masks(torch.zeros((4, 8, 8)), torch.zeros((0, 4)), torch.zeros((0, 4)), transform)
    assert empty.shape == (0, 50, 40)
    with pytest.raises(InvalidParameterError):
        instance_masks(torch.zeros((4, 8, 8)), torch.zeros((1, 4)), torch.zeros((1, 4)), transform, method="x")  # type: ignore[arg-type]


@pytest.mark.parametrize(("height", "width", "target", "mode", "window"), SCENES)
def test_dense_maps_follow_the_padding_rule(height, width, target, mode, window):
    transform = plan_transform(height, width, Size(*target), mode, window)
    th, tw = transform.network_size
    maps = torch.randn((3, max(th // 2, 1), max(tw // 2, 1)), generator=torch.Generator().manual_seed(3))
    ours = dense_maps_to_original(maps, transform, fill=-1.0)
    mh, mw = maps.shape[1:]
    cut = [round(p * mh / th) for p in (transform.pad_top, transform.pad_bottom)]
    cut += [round(p * mw / tw) for p in (transform.pad_left, transform.pad_right)]
    h, w = transform.size_after_crop
    resized = F.interpolate(pad_or_crop(maps[None], *cut), size=(h, w), mode="bilinear", align_corners=False)[0]
    x, y = transform.crop_offset
    assert ours.shape == (3, height, width)
    assert torch.allclose(ours[:, y : y + h, x : x + w], resized)
    outside = torch.ones((height, width), dtype=torch.bool)
    outside[y : y + h, x : x + w] = False
    assert (ours[:, outside] == -1.0).all()


@pytest.mark.parametrize("method", ["native", "upsample"])
def test_presence_says_which_masks_have_pixels(method):
    transform = plan_transform(300, 500, Size(640, 640), "letterbox")
    generator = torch.Generator().manual_seed(3)
    prototypes = torch.randn((8, 160, 160), generator=generator).abs()
    coefficients = torch.randn((6, 8), generator=generator).abs()
    coefficients[2] = -1.0  # positive prototypes, negative coefficients: negative logits, an empty mask
    boxes = torch.tensor(
        [[100, 200, 300, 400], [0, 140, 640, 500], [50, 200, 200, 300], [10, 10, 20, 20], [300, 250, 301, 251], [200, 300, 400, 420]],
        dtype=torch.float32,
    )
    masks, present = instance_masks_with_presence(prototypes, coefficients, boxes, transform, method=method)
    assert present.tolist() == masks.flatten(1).any(dim=1).tolist()
    assert not present[2] and not present[3]  # empty logits; a box entirely inside the letterbox padding
    assert torch.equal(masks, instance_masks(prototypes, coefficients, boxes, transform, method=method))
