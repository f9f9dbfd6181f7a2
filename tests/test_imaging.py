"""`imaging.decode`, the one decoder of untrusted pictures: allowed formats only, one pixel limit, sensible pixels
from odd modes, and BadPicture (with a stable reason) as the only error, whatever the bytes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import EpsImagePlugin, Image

from imaging import FORMATS, MAX_PIXELS, BadPicture, decode
from tests.support.odd_pictures import cmyk_jpeg, cmyk_profile, encoded, mangled_pictures, png16, seed_pictures
from tests.support.pictures import content_photo, picture

GOOD_FORMATS = {"JPEG": {}, "PNG": {}, "WEBP": {"lossless": True}, "BMP": {}, "TIFF": {}, "GIF": {}}
REFUSED_FORMATS = ["EPS", "PCX", "TGA", "ICO", "PPM", "SGI", "DDS", "QOI", "JPEG2000", "PDF"]


def refusal(data: bytes | Path, **options: object) -> str:
    with pytest.raises(BadPicture) as info:
        decode(data, **options)  # type: ignore[arg-type]
    return info.value.reason


@pytest.mark.parametrize("fmt", list(GOOD_FORMATS))
def test_the_formats_photos_and_paintings_come_in_are_decoded(fmt: str) -> None:
    assert fmt in FORMATS
    decoded = decode(encoded(content_photo((40, 30)), fmt, **GOOD_FORMATS[fmt]))
    assert decoded.image.mode == "RGB" and decoded.image.size == decoded.size == (40, 30)
    assert decoded.format == fmt


@pytest.mark.parametrize("fmt", REFUSED_FORMATS)
def test_other_formats_are_refused_unread(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ghostscript(*args: object, **kwargs: object) -> None:
        raise AssertionError("Ghostscript must never run on an upload")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    data = encoded(Image.new("RGB", (32, 32), (200, 30, 30)), fmt)
    assert refusal(data) == "unsupported"


def test_a_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((250, 0, 0), (0, 0, 250))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    red, _, blue = decode(out.getvalue()).image.getpixel((10, 10))  # type: ignore[misc]
    assert red > 200 and blue < 50


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.4\n%%EOF\n", "unsupported"),
        (b"just some text", "unsupported"),
        (picture(size=(200, 200))[:400], "damaged"),
        (picture(size=(200, 200), fmt="PNG")[:120], "damaged"),
    ],
    ids=["empty", "pdf", "text", "truncated-jpeg", "truncated-png"],
)
def test_bad_bytes_have_a_stable_reason(data: bytes, reason: str) -> None:
    assert refusal(data) == reason


def test_files_too(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nope.png") == "missing"
    (tmp_path / "empty.png").write_bytes(b"")
    assert refusal(tmp_path / "empty.png") == "empty"
    (tmp_path / "ok.png").write_bytes(picture(fmt="PNG"))
    assert decode(tmp_path / "ok.png").size == (64, 48)


def test_the_pixel_limit_is_checked_from_the_header() -> None:
    over = encoded(Image.new("1", (8_001, MAX_PIXELS // 8_000)), "PNG")  # a few KB, 64.008 megapixels
    with pytest.raises(BadPicture) as info:
        decode(over)
    assert info.value.reason == "too_large" and info.value.size == (8_001, 8_000)
    assert refusal(picture(size=(30, 12)), min_side=16) == "too_small"


def test_exif_orientation_turns_the_picture_and_its_size() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: turn 90° clockwise to show
    decoded = decode(encoded(Image.new("RGB", (40, 20), (255, 0, 0)), "JPEG", exif=exif.tobytes()))
    assert decoded.image.size == decoded.size == (20, 40)


def test_a_jpeg_is_decoded_smaller_when_the_caller_needs_less() -> None:
    decoded = decode(encoded(content_photo((1600, 1200)), "JPEG"), draft_side=200)
    assert decoded.size == (1600, 1200) and decoded.image.size == (400, 300)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: png16(np.full((6, 8), 1000)), 4),  # I;16 from a 16-bit grey PNG
        (lambda: encoded(Image.frombytes("I;16B", (8, 6), np.full((6, 8), 1000, ">u2").tobytes()), "TIFF"), 4),
        (lambda: encoded(Image.frombytes("I;16", (8, 6), np.full((6, 8), 30000, "<u2").tobytes()), "TIFF"), 117),
        (lambda: encoded(Image.fromarray(np.full((6, 8), 1000, np.int32)), "TIFF"), 4),  # mode I
        (lambda: png16(np.full((6, 8, 3), 30000)), 117),  # 16-bit RGB: Pillow keeps the high bytes
        (lambda: png16(np.dstack([np.full((6, 8), 30000)] * 3 + [np.full((6, 8), 65535)])), 117),  # RGBA
    ],
    ids=["png-grey16", "tiff-I;16B", "tiff-I;16", "tiff-I", "png-rgb16", "png-rgba16"],
)
def test_sixteen_bit_pictures_are_scaled_by_65535(make: object, expected: int) -> None:
    image = decode(make()).image  # type: ignore[operator]
    assert image.mode == "RGB"
    assert abs(image.getpixel((3, 3))[0] - expected) <= 1  # type: ignore[index]


def test_a_cmyk_jpeg_goes_through_its_icc_profile() -> None:
    # 50 % cyan: the profile prints every ink as a mid grey; the plain formula would give light cyan.
    assert decode(cmyk_jpeg(icc=cmyk_profile())).image.getpixel((5, 5)) == pytest.approx((119, 119, 119), abs=3)
    assert decode(cmyk_jpeg()).image.getpixel((5, 5)) == pytest.approx((127, 255, 255), abs=3)
    broken = cmyk_jpeg(icc=b"not a profile" * 10)
    assert decode(broken).image.getpixel((5, 5)) == pytest.approx((127, 255, 255), abs=3)


def test_transparent_areas_become_white() -> None:
    assert decode(encoded(Image.new("RGBA", (10, 10), (0, 0, 0, 0)), "PNG")).image.getpixel((5, 5)) == (255, 255, 255)
    assert decode(encoded(Image.new("LA", (10, 10), (0, 0)), "PNG")).image.getpixel((5, 5)) == (255, 255, 255)


SEEDS = seed_pictures()


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about some corrupt TIFF tags, then goes on
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=512), mangled_pictures(SEEDS)))
def test_any_bytes_give_a_picture_or_bad_picture(data: bytes) -> None:
    try:
        decoded = decode(data, min_side=1)
    except BadPicture as exc:
        assert exc.reason in ("empty", "unsupported", "damaged", "too_large", "too_small")
        return
    assert decoded.image.mode == "RGB" and min(decoded.image.size) >= 1
    assert decoded.size[0] * decoded.size[1] <= MAX_PIXELS
