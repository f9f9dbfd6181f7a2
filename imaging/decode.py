"""Decoding untrusted picture bytes or files: allowed formats only, a pixel limit checked before decoding, EXIF
orientation applied, every pixel mode turned into 8-bit RGB, and one error (`BadPicture`) for whatever is wrong.

Only the formats a photo or a painting comes in are tried (Pillow's `formats=`): the other plugins never see
untrusted bytes, so EPS and PS (which run Ghostscript), PSD, ICO, PCX and the rest are refused as "unsupported".
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from typing import IO, Literal

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class PictureFormat:
    """One format a photo or a painting may come in: Pillow's name, the MIME type, the file suffixes (first: the
    one we write)."""

    name: str
    mime_type: str
    suffixes: tuple[str, ...]


# The one list of the formats we accept. GIF, WebP and TIFF: the first frame or page.
PICTURE_FORMATS: tuple[PictureFormat, ...] = (
    PictureFormat("JPEG", "image/jpeg", (".jpg", ".jpeg")),
    PictureFormat("PNG", "image/png", (".png",)),
    PictureFormat("WEBP", "image/webp", (".webp",)),
    PictureFormat("BMP", "image/bmp", (".bmp",)),
    PictureFormat("TIFF", "image/tiff", (".tif", ".tiff")),
    PictureFormat("GIF", "image/gif", (".gif",)),
)
FORMATS: tuple[str, ...] = tuple(f.name for f in PICTURE_FORMATS)  # Pillow's `formats=`
SUFFIX_BY_MIME_TYPE: dict[str, str] = {f.mime_type: f.suffixes[0] for f in PICTURE_FORMATS}
SUFFIXES: frozenset[str] = frozenset(suffix for f in PICTURE_FORMATS for suffix in f.suffixes)
FORMAT_NAMES = "JPEG, PNG, WebP, BMP, TIFF or GIF"
# Anything that would decode to more pixels than this is refused from its header, before it is decoded (a
# decompression bomb). 64 MP lets through full-size photos from 50 MP phone cameras (8192×6144 = 50.3 MP).
MAX_PIXELS = 64_000_000

Reason = Literal["missing", "empty", "unsupported", "damaged", "too_large", "too_small"]
Source = bytes | str | os.PathLike[str]
Size = tuple[int, int]  # (width, height)

EXIF_ORIENTATION = 0x0112
# EXIF orientation → the transposition that makes the picture upright (as ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SIDEWAYS = frozenset({5, 6, 7, 8})  # orientations that swap width and height
SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
WITH_ALPHA = frozenset({"RGBA", "LA", "PA", "RGBa"})
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class BadPicture(Exception):
    """A picture that can't be used.

    `reason` is stable (callers turn it into their own words): missing, empty, unsupported (not one of FORMATS,
    or not a picture at all), damaged (truncated or corrupt), too_large (over MAX_PIXELS), too_small (a side
    under the caller's minimum). `size` is the picture's (width, height) when it is known; str(exc) says what was
    wrong in English, for logs.
    """

    def __init__(self, reason: Reason, detail: str, *, size: Size | None = None) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail
        self.size = size


@dataclass(frozen=True)
class Picture:
    """A decoded picture."""

    image: Image.Image  # 8-bit RGB, upright, fully decoded (a JPEG maybe at 1/2, 1/4 or 1/8 scale: `draft_side`)
    size: Size  # the picture's own upright (width, height), whatever scale it was decoded at
    format: str  # the format Pillow read (one of FORMATS, or MPO: a JPEG with extra pictures after the first)


def decode(source: Source, *, draft_side: int | None = None, min_side: int = 1, reduce: bool = False) -> Picture:
    """Decode picture bytes or a picture file; raises BadPicture (and nothing else) when it can't be used.

    `draft_side`: the caller needs at most this many pixels a side, so a JPEG may be decoded at a reduced scale
    (both sides stay at least this long; the whole file is still read, so a truncated one is still refused).
    `min_side`: pictures with a shorter side are refused as too_small.
    `reduce` (with `draft_side`): any format is then scaled down by a whole factor (both sides staying at least
    `draft_side`) right after its pixels are read, before it is turned upright and into RGB, so a huge PNG costs
    its decoded pixels once and not the several full-size copies the conversion makes (for checking a picture and
    making a thumbnail; the engine wants its pixels exact and leaves this off).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        if not source:
            raise BadPicture("empty", "the file is empty")
        return _decode(io.BytesIO(source), draft_side, min_side, reduce)
    path = os.fspath(source)
    try:
        handle = open(path, "rb")  # closed below, once the pixels are read
    except OSError as exc:
        raise BadPicture("missing", f"{path} can't be opened ({exc.strerror or type(exc).__name__})") from exc
    with handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise BadPicture("empty", "the file is empty")
        return _decode(handle, draft_side, min_side, reduce)


def _decode(data: IO[bytes], draft_side: int | None, min_side: int, reduce: bool = False) -> Picture:
    try:
        image = Image.open(data, formats=FORMATS)
    except UnidentifiedImageError as exc:
        raise BadPicture("unsupported", f"not a {FORMAT_NAMES} picture") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadPicture("too_large", "far too many pixels to decode safely") from exc
    except Exception as exc:  # whatever a malformed header makes a plugin raise, the file is damaged
        raise BadPicture("damaged", f"the picture's header can't be read ({type(exc).__name__})") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise BadPicture(
            "too_large", f"{width}×{height} pixels is more than {MAX_PIXELS:,}", size=_upright_size(image)
        )
    if min(width, height) < max(1, min_side):
        raise BadPicture("too_small", f"{width}×{height} pixels is under {min_side} a side", size=_upright_size(image))
    try:
        if draft_side and image.format in ("JPEG", "MPO"):
            image.draft(None, (draft_side, draft_side))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadPicture("too_large", "far too many pixels to decode safely", size=(width, height)) from exc
    except Exception as exc:  # truncated data, a corrupt stream: any decoder error
        raise BadPicture("damaged", f"the picture data is incomplete or damaged ({type(exc).__name__})") from exc
    size = _upright_size(image, (width, height))
    picture_format = image.format or ""
    if reduce and draft_side:
        orientation = _orientation(image)  # read before reducing: a TIFF's tags stay with the opened file
        return Picture(_upright_rgb(_reduced(image, draft_side), orientation), size, picture_format)
    return Picture(upright_rgb(image), size, picture_format)


# Modes Image.reduce averages in place. With alpha, Pillow first makes a premultiplied copy of the whole picture (as
# large again), and a palette or 16-bit grey can't be averaged: those are thinned by nearest neighbour instead, to
# twice the side asked for, and the caller's own thumbnailing smooths them from there.
AVERAGED = frozenset({"L", "RGB", "RGBX", "CMYK", "I", "F"})


def _reduced(image: Image.Image, side: int) -> Image.Image:
    """The loaded image scaled down by the largest whole factor that keeps both sides at least `side` long (twice
    that for the modes thinned by nearest neighbour), without a second full-size copy."""
    target = side if image.mode in AVERAGED else 2 * side
    factor = min(image.size) // max(1, target)
    if factor < 2:
        return image
    try:
        if image.mode in AVERAGED:
            return image.reduce(factor)
        return image.resize((image.width // factor, image.height // factor), Image.Resampling.NEAREST)
    except Exception as exc:
        raise BadPicture("unsupported", f"pictures in {image.mode} mode can't be used ({type(exc).__name__})") from exc


def upright_rgb(image: Image.Image) -> Image.Image:
    """The image turned upright by its EXIF orientation, as 8-bit RGB (a new image unless it already was one).

    16-bit greys are scaled by 65535 (not by their brightest pixel), CMYK goes through its ICC profile when it
    has one, transparent areas become white. Raises BadPicture when the pixels can't be read or converted.
    """
    try:
        image.load()
    except Exception as exc:
        raise BadPicture("damaged", f"the picture data is incomplete or damaged ({type(exc).__name__})") from exc
    return _upright_rgb(image, _orientation(image))


def _upright_rgb(image: Image.Image, orientation: int) -> Image.Image:
    try:
        method = UPRIGHT.get(orientation)
        upright = image.transpose(method) if method is not None else image
        return to_rgb(upright)
    except Exception as exc:
        raise BadPicture("unsupported", f"pictures in {image.mode} mode can't be used ({type(exc).__name__})") from exc


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB from any of Pillow's modes."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in SIXTEEN_BIT or mode == "I":
        return _scaled_grey(np.asarray(image), 65535.0 if mode != "I" else _int_peak(image))
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        return _scaled_grey(values, 1.0 if values.size and float(values.max()) <= 1.0 else 255.0)
    if mode == "CMYK":
        return _cmyk_to_rgb(image)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        if image.mode == "RGB":
            return image
    if image.mode in WITH_ALPHA or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _int_peak(image: Image.Image) -> float:
    """What white is in a 32-bit integer picture: 16-bit data (the usual case: PNG, TIFF) or the full range."""
    extrema = image.getextrema()
    high = float(extrema[1]) if isinstance(extrema[1], int | float) else 0.0
    return 65535.0 if high <= 65535 else float(2**31 - 1)


def _scaled_grey(values: np.ndarray, peak: float) -> Image.Image:
    scaled = values.astype(np.float32)
    scaled *= np.float32(255.0 / peak)
    np.clip(scaled, 0.0, 255.0, out=scaled)
    return Image.fromarray(np.rint(scaled).astype(np.uint8), "L").convert("RGB")


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """Through the picture's own ICC profile (what a print-ready CMYK file means), else Pillow's plain formula."""
    icc = image.info.get("icc_profile")
    if isinstance(icc, bytes) and icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                image, profile, _SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
            log.debug("CMYK picture with an unusable ICC profile (%s); converting without it", exc)
    return image.convert("RGB")


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block: the picture is still fine, just not turned
        return 1
    return value if isinstance(value, int) else 1


def _upright_size(image: Image.Image, size: Size | None = None) -> Size:
    width, height = size or image.size
    return (height, width) if _orientation(image) in SIDEWAYS else (width, height)
