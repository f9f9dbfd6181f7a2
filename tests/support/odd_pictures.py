"""Unusual pictures made in code: 16-bit PNGs written by hand, CMYK JPEGs with an ICC profile built here, files in
formats the decoder refuses, very long thin paintings."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from tests.support.pictures import content_photo, style_painting


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png16(values: np.ndarray) -> bytes:
    """A 16-bit PNG of `values` (H×W grey, H×W×2 grey+alpha, H×W×3 RGB or H×W×4 RGBA; 0…65535), written by hand:
    Pillow can't write most of these."""
    colour_types = {2: 0, 3: 4, 4: 2, 5: 6}  # by the array's (height, width, channels) rank/size
    channels = 1 if values.ndim == 2 else values.shape[2]
    colour_type = colour_types[values.ndim if values.ndim == 2 else {2: 3, 3: 4, 4: 5}[channels]]
    height, width = values.shape[:2]
    rows = values.reshape(height, width * channels).astype(">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def cmyk_profile(ink_lab: tuple[float, float, float] = (50.0, 0.0, 0.0)) -> bytes:
    """A small but real ICC v2 CMYK printer profile (CMYK → Lab, a 2-point lut16) with odd inks: cyan, magenta and
    yellow all print `ink_lab` (a mid grey by default, where the plain formula gives a colour), black is black.
    (No ink is the paper, which a perceptual or relative rendering shows as white.)"""

    def lab16(lab: tuple[float, float, float]) -> list[int]:
        lightness, a, b = lab
        return [round(lightness / 100 * 0xFF00), round((a + 128) * 256), round((b + 128) * 256)]

    clut: list[int] = []
    for corner in range(16):  # C, M, Y, K each 0 or 1, K fastest-changing last
        black = corner & 1
        clut += lab16((0.0, 0.0, 0.0)) if black else lab16(ink_lab)
    identity = b"".join(_s15f16(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    a2b0 = (
        b"mft2"
        + b"\0" * 4
        + bytes([4, 3, 2, 0])
        + identity
        + struct.pack(">HH", 2, 2)
        + struct.pack(">8H", *([0, 0xFFFF] * 4))
        + struct.pack(f">{len(clut)}H", *clut)
        + struct.pack(">6H", *([0, 0xFFFF] * 3))
    )
    d50 = _s15f16(0.9642) + _s15f16(1.0) + _s15f16(0.8249)
    name = b"StyleBot test CMYK\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(name)) + name + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    tags = [
        (b"desc", desc),
        (b"wtpt", b"XYZ " + b"\0" * 4 + d50),
        (b"cprt", b"text" + b"\0" * 4 + b"none\0"),
        (b"A2B0", a2b0),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"prtr"
        + b"CMYK"
        + b"Lab "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + d50
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def cmyk_jpeg(
    ink: tuple[int, int, int, int] = (128, 0, 0, 0), size: tuple[int, int] = (24, 16), icc: bytes | None = None
) -> bytes:
    """A flat CMYK JPEG (as print shops send them), with `icc` embedded when given."""
    out = io.BytesIO()
    options = {"icc_profile": icc} if icc else {}
    Image.new("CMYK", size, ink).save(out, "JPEG", quality=95, **options)
    return out.getvalue()


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def thin_painting(ratio: int, short: int = 8) -> Image.Image:
    """A painting `ratio` times wider than it is tall (`short` px tall)."""
    return style_painting((ratio * short, short))


# Small pictures in the formats the decoder accepts and in some it refuses (which Pillow alone would decode).
ACCEPTED_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {},
    "PNG": {},
    "WEBP": {"lossless": True},
    "BMP": {},
    "TIFF": {},
    "GIF": {},
}
REFUSED = ("EPS", "PCX", "TGA", "ICO", "PPM", "SGI", "DDS", "QOI")


def seed_pictures() -> dict[str, bytes]:
    photo = content_photo((16, 12))
    seeds = {fmt: encoded(photo, fmt, **options) for fmt, options in ACCEPTED_OPTIONS.items()}
    return seeds | {fmt: encoded(photo, fmt) for fmt in REFUSED}


@st.composite
def mangled_pictures(draw: st.DrawFn, seeds: dict[str, bytes]) -> bytes:
    """One of `seeds` with bytes flipped, cut out, inserted or cut off (up to six times)."""
    data = bytearray(seeds[draw(st.sampled_from(sorted(seeds)))])
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "truncate":
            del data[at:]
    return bytes(data)
