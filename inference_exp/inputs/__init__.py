"""Accepted image inputs and their normalisation (see :mod:`inference_exp.inputs.normalize`)."""

from inference_exp.inputs.normalize import ColorFormat, ImageLike, NormalizedImage, normalize_images

__all__ = ["ColorFormat", "ImageLike", "NormalizedImage", "normalize_images"]
