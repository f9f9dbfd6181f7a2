"""Pictures made in code (the suite never reads ../shared): small PNG/JPEG bytes, a 'photo' and a 'painting'."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw


def picture(
    color: tuple[int, int, int] = (90, 140, 200), size: tuple[int, int] = (64, 48), fmt: str = "JPEG"
) -> bytes:
    """A small picture: a flat colour with a white diagonal (so thumbnails and results are real images)."""
    image = Image.new("RGB", size, color)
    for x in range(size[0]):
        image.putpixel((x, x * size[1] // size[0]), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def content_photo(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A 'photo': sky gradient, a dark house with a red roof, a green lawn."""
    w, h = size
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[..., 2] = np.linspace(250, 150, h, dtype=np.uint8)[:, None]
    pixels[..., 1] = np.linspace(200, 120, h, dtype=np.uint8)[:, None]
    pixels[..., 0] = 90
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, int(h * 0.75), w, h), fill=(40, 160, 60))
    draw.rectangle((int(w * 0.3), int(h * 0.4), int(w * 0.6), int(h * 0.8)), fill=(70, 50, 40))
    draw.polygon(
        [(int(w * 0.25), int(h * 0.4)), (int(w * 0.45), int(h * 0.15)), (int(w * 0.65), int(h * 0.4))],
        fill=(200, 30, 30),
    )
    return image


def style_painting(size: tuple[int, int] = (80, 80), seed: int = 1) -> Image.Image:
    """A 'painting': bold diagonal yellow/blue strokes with noise, nothing like the photo."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = (np.sin((xx + yy) / 3.0) > 0).astype(np.float32)[..., None]
    yellow = np.array([240, 200, 40], np.float32)
    blue = np.array([30, 50, 160], np.float32)
    pixels = stripes * yellow + (1 - stripes) * blue + rng.normal(0, 20, (h, w, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def noise(side: int, seed: int = 7) -> bytes:
    """A square PNG of random pixels: it compresses badly, so it is large for its size."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()
