"""Downloading pictures from Telegram: checked, validated with Pillow, saved atomically."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image, ImageOps
from telegram import Bot

from jobs import files

from .limits import MAX_DOWNLOAD_BYTES, ImageRef

MIN_SIDE = 16
MAX_PIXELS = 50_000_000
THUMB_SIDE = 320


class BadImage(Exception):
    """A picture that can't be used; str(exc) is fit for the user."""


def validate_image(data: bytes) -> tuple[int, int]:
    """The picture's (width, height); raises BadImage when Pillow can't fully decode it or its size is unusable."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise BadImage(f"That picture is {width}×{height}; please send one under 50 megapixels.")
            image.load()  # verify() does not notice truncated data; decoding does
    except BadImage:
        raise
    except Image.DecompressionBombError as exc:
        raise BadImage("That picture is far too large; please send a smaller one.") from exc
    except Exception as exc:
        raise BadImage("I couldn't read that picture; the file seems damaged. Please send another one.") from exc
    if min(width, height) < MIN_SIDE:
        raise BadImage(f"That picture is only {width}×{height}; please send one at least {MIN_SIDE} px wide.")
    return width, height


async def fetch_image(bot: Bot, ref: ImageRef, path: Path) -> Path:
    """Download the picture to `path` (once: an existing file is reused) after validating it."""
    if await asyncio.to_thread(path.is_file):
        return path
    tg_file = await bot.get_file(ref.file_id)
    if tg_file.file_size is not None and tg_file.file_size > MAX_DOWNLOAD_BYTES:
        raise BadImage("That file is larger than 20 MB; please send a smaller picture.")
    data = bytes(await tg_file.download_as_bytearray())
    await asyncio.to_thread(validate_image, data)
    await asyncio.to_thread(files.write_bytes, path, data)
    return path


def thumbnail_bytes(path: Path, side: int = THUMB_SIDE) -> bytes:
    """A small JPEG of the picture (for status messages and preset lists)."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        return out.getvalue()
