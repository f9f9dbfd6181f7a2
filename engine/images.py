"""Safe image input and output: decode, orient, convert, resize; VGG 'caffe' pre/post-processing."""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import BadImageError

ImageSource = str | os.PathLike[str] | bytes | Image.Image

# VGG 'caffe' preprocessing: BGR order, ImageNet mean subtracted, 0..255 scale.
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

# Refuse anything that would decode to more pixels than this (a decompression bomb).
MAX_PIXELS = 64_000_000
SIZE_STEP = 16


def load_image(source: ImageSource, *, max_side: int | None = None, what: str = "image") -> Image.Image:
    """Decode an image into RGB with EXIF orientation applied, shrinking while decoding when possible.

    Any problem (not an image, empty, truncated, too many pixels) raises `BadImageError` with a message a
    user can read.
    """
    if isinstance(source, Image.Image):
        image = source
    else:
        image = _open(source, what)
    try:
        if max_side and image.format == "JPEG":
            # JPEG can decode directly at 1/2, 1/4 or 1/8 scale: far less memory and time for big photos.
            image.draft("RGB", (max_side, max_side))
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(image)
    except BadImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadImageError(f"The {what} could not be read (is the file complete?).") from exc
    if image.width < 1 or image.height < 1:
        raise BadImageError(f"The {what} is empty.")
    if max_side:
        image = resize_to_side(image, max_side)
    return image


def _open(source: str | os.PathLike[str] | bytes, what: str) -> Image.Image:
    data: io.BytesIO | str | os.PathLike[str]
    if isinstance(source, bytes):
        data = io.BytesIO(source)
    else:
        if not os.path.exists(source):
            raise BadImageError(f"The {what} file does not exist: {source}")
        if os.path.getsize(source) == 0:
            raise BadImageError(f"The {what} file is empty.")
        data = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(data)
            if image.width * image.height > MAX_PIXELS:
                raise BadImageError(
                    f"The {what} is too large ({image.width}×{image.height} pixels); "
                    f"send one under {MAX_PIXELS // 1_000_000} megapixels."
                )
            return image
    except BadImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImageError(f"The {what} is too large to decode safely.") from exc
    except UnidentifiedImageError as exc:
        raise BadImageError(f"The {what} is not an image I can read (use JPEG, PNG or WebP).") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImageError(f"The {what} could not be read (is the file complete?).") from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = max(float(array.max()), 1.0)
        return Image.fromarray((array / peak * 255).astype(np.uint8)).convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def bucket_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Scale so the long side is `max_side`; the short side snaps to a multiple of 16.

    Snapping keeps the set of shapes small, so compiled functions are reused across requests.
    """
    scale = max_side / max(width, height)

    def snap(side: int) -> int:
        return max(SIZE_STEP, min(max_side, round(side * scale / SIZE_STEP) * SIZE_STEP))

    return (max_side, snap(height)) if width >= height else (snap(width), max_side)


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
            image.save(handle, format=fmt, **options)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
