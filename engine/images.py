"""The engine's picture work: decoding (through `imaging`, the one safe decoder), fitting to a size, thin paintings,
VGG 'caffe' pre/post-processing, luminance and colour keeping, atomic saving."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import BadImageError
from imaging import MAX_PIXELS, BadPicture, decode, upright_rgb
from imaging.files import write_atomically

ImageSource = str | os.PathLike[str] | bytes | Image.Image

# VGG 'caffe' preprocessing: BGR order, ImageNet mean subtracted, 0..255 scale.
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

# A painting's statistics need rows at every VGG level; conv5_1 sees the picture at 1/16 of its size.
MAX_STYLE_ASPECT = 16.0  # a longer, thinner painting is cropped (its middle) to this shape
MIN_STYLE_SHORT = 32  # …and further, so its short side is at least this at the size it is measured (2 rows at conv5_1)


def load_image(
    source: ImageSource, *, max_side: int | None = None, what: str = "image", draft_side: int | None = None
) -> Image.Image:
    """Decode an image into upright RGB, resized so its long side is `max_side` (when given). A JPEG is decoded at
    a reduced scale when `max_side` (or `draft_side`) allows.

    Any problem (not an image, not an accepted format, empty, truncated, too many pixels) raises `BadImageError`
    with a message a user can read.
    """
    try:
        if isinstance(source, Image.Image):
            image = upright_rgb(source)
        else:
            image = decode(source, draft_side=max_side or draft_side).image
    except BadPicture as exc:
        raise BadImageError(_message(exc, what, source), reason=exc.reason) from exc
    if max_side:
        image = resize_to_side(image, max_side)
    return image


def _message(exc: BadPicture, what: str, source: ImageSource) -> str:
    size = f" ({exc.size[0]}×{exc.size[1]} pixels)" if exc.size else ""
    if exc.reason == "missing":
        where = os.fspath(source) if isinstance(source, str | os.PathLike) else ""
        return f"The {what} file does not exist or can't be read: {where}"
    if exc.reason == "empty":
        return f"The {what} is empty."
    if exc.reason == "unsupported":
        return f"The {what} is not an image I can read (use JPEG, PNG, WebP, BMP, TIFF or GIF)."
    if exc.reason == "too_large":
        if exc.size:
            return f"The {what} is too large{size}; send one under {MAX_PIXELS // 1_000_000} megapixels."
        return f"The {what} is too large to decode safely."
    if exc.reason == "too_small":
        return f"The {what} is too small{size}."
    return f"The {what} could not be read (is the file complete?)."


def load_style(source: ImageSource, side: int, *, what: str = "style image") -> Image.Image:
    """A painting decoded like `load_image`, cropped by `fit_style` before it is resized to `side` (so a long thin
    one keeps its rows)."""
    return resize_to_side(fit_style(load_image(source, what=what, draft_side=side), side), side)


def fit_style(image: Image.Image, side: int) -> Image.Image:
    """A painting cropped (its middle) so it is at most MAX_STYLE_ASPECT long and, once its long side is `side`,
    at least MIN_STYLE_SHORT pixels short (square when `side` is shorter than that): VGG then sees rows of it at
    every level instead of a strip mirrored into a canvas."""
    long, short = max(image.size), min(image.size)
    aspect = min(MAX_STYLE_ASPECT, max(1.0, side / MIN_STYLE_SHORT))
    if long <= short * aspect:
        return image
    keep = max(short, math.floor(short * aspect))
    if image.width >= image.height:
        left = (image.width - keep) // 2
        return image.crop((left, 0, left + keep, image.height))
    top = (image.height - keep) // 2
    return image.crop((0, top, image.width, top + keep))


def resize_to_side(image: Image.Image, max_side: int) -> Image.Image:
    """Resize (down or up) so the longer side is `max_side`, keeping the aspect ratio."""
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def to_caffe(image: Image.Image) -> np.ndarray:
    """RGB image → (1, H, W, 3) float32 BGR minus the ImageNet mean."""
    rgb = np.asarray(image, dtype=np.float32)
    return (rgb[..., ::-1] - CAFFE_MEAN_BGR)[None]


def from_caffe(array: np.ndarray) -> Image.Image:
    """(1, H, W, 3) caffe-space array → RGB image (clipped to 0..255)."""
    bgr = np.asarray(array, dtype=np.float32)[0] + CAFFE_MEAN_BGR
    return Image.fromarray(np.clip(bgr[..., ::-1], 0, 255).round().astype(np.uint8))


def luminance(image: Image.Image) -> Image.Image:
    """The image's luminance (Y of YCbCr) as a grey RGB image."""
    return image.convert("L").convert("RGB")


def keep_colors(stylised: Image.Image, content: Image.Image) -> Image.Image:
    """Luminance of the stylised image with the chroma (Cb, Cr) of the content photo."""
    content = content.resize(stylised.size, Image.Resampling.LANCZOS) if content.size != stylised.size else content
    y, _, _ = stylised.convert("YCbCr").split()
    _, cb, cr = content.convert("YCbCr").split()
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


def save_image(image: Image.Image, path: str | os.PathLike[str], *, quality: int = 95) -> Path:
    """Write atomically (temporary file, then rename); the format follows the suffix."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    out = io.BytesIO()
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    image.save(out, format=fmt, **options)
    return write_atomically(path, out.getvalue())
