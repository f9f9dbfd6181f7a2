"""Bad or unusual images get one clear engine error (never a crash); good ones are decoded sensibly."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import EpsImagePlugin, Image

from engine.canvas import MAX_STRETCH, canvas_for
from engine.errors import BadImageError, UnusablePictureError
from engine.images import MAX_STYLE_ASPECT, fit_style, load_image
from engine.options import StylizeOptions
from engine.transfer import MAX_CONTENT_ASPECT, Stylizer
from imaging import MAX_PIXELS
from tests.support.odd_pictures import cmyk_jpeg, cmyk_profile, encoded, mangled_pictures, png16, seed_pictures
from tests.support.pictures import content_photo, style_painting

ROOT = Path(__file__).resolve().parents[1]


def _jpeg(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "not an image"),
        (b"just some text, definitely not pixels", "not an image"),
        (b"", "empty"),
        (_jpeg(content_photo((400, 300)))[:1500], "could not be read"),
    ],
    ids=["pdf", "text", "empty", "truncated-jpeg"],
)
def test_bad_files_raise_one_readable_error(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "upload.jpg"
    path.write_bytes(payload)
    with pytest.raises(BadImageError, match=message) as info:
        load_image(path, max_side=64, what="content image")
    assert info.value.code == "bad_image"
    assert "content image" in info.value.message


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000)).save(path)  # a few KB on disk, 144 megapixels decoded
    assert path.stat().st_size < 200_000
    with pytest.raises(BadImageError, match="too large"):
        load_image(path, max_side=64)


def test_the_pixel_limit_is_the_decoders_one() -> None:
    between = encoded(Image.new("1", (7_100, 7_100), 1), "PNG")  # 50.4 MP: the bot's old limit, under the one limit
    assert load_image(between, max_side=64).size == (64, 64)
    over = encoded(Image.new("1", (8_001, MAX_PIXELS // 8_000)), "PNG")
    with pytest.raises(BadImageError, match=r"too large \(8001×8000 pixels\); send one under 64 megapixels") as info:
        load_image(over, max_side=64)
    assert info.value.reason == "too_large"


@pytest.mark.parametrize("fmt", ["EPS", "PCX", "TGA", "ICO", "PPM", "SGI", "QOI"])
def test_only_photo_and_painting_formats_are_decoded(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ghostscript(*args: object, **kwargs: object) -> None:
        raise AssertionError("Ghostscript must never run on an upload")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    with pytest.raises(BadImageError, match="not an image I can read") as info:
        load_image(encoded(content_photo((32, 24)), fmt), max_side=32, what="style image")
    assert info.value.reason == "unsupported" and "style image" in info.value.message


@pytest.mark.parametrize(
    "data",
    [png16(np.full((6, 8), 1000)), encoded(Image.fromarray(np.full((6, 8), 1000, np.int32)), "TIFF")],
    ids=["png-I;16", "tiff-I"],
)
def test_sixteen_bit_greys_are_scaled_by_65535_not_by_their_brightest_pixel(data: bytes) -> None:
    assert load_image(data).getpixel((2, 2)) == (4, 4, 4)  # 1000 / 65535 · 255


def test_a_cmyk_jpeg_with_an_icc_profile_is_converted_through_it() -> None:
    assert load_image(cmyk_jpeg(icc=cmyk_profile())).getpixel((4, 4)) == pytest.approx((119, 119, 119), abs=3)


SEEDS = seed_pictures()


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about some corrupt TIFF tags, then goes on
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=256), mangled_pictures(SEEDS)))
def test_any_bytes_give_an_image_or_one_bad_image_error(data: bytes) -> None:
    try:
        image = load_image(data, max_side=32, what="content image")
    except BadImageError as exc:
        assert exc.code == "bad_image" and "content image" in exc.message
        return
    assert image.mode == "RGB" and max(image.size) == 32


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadImageError, match="does not exist"):
        load_image(tmp_path / "nope.png")


def test_exif_orientation_is_applied() -> None:
    upright = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to display
    image = load_image(_jpeg(upright, exif=exif.tobytes()))
    assert image.size == (20, 40)


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "LA", "CMYK", "I;16", "1"])
def test_any_mode_becomes_rgb(mode: str) -> None:
    source = content_photo((30, 20))
    converted = source.convert(mode) if mode != "I;16" else source.convert("L").convert("I;16")
    buffer = io.BytesIO()
    converted.save(buffer, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
    image = load_image(buffer.getvalue(), max_side=30)
    assert image.mode == "RGB" and image.size == (30, 20)


def test_transparent_areas_become_white_not_black() -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    assert load_image(buffer.getvalue()).getpixel((5, 5)) == (255, 255, 255)


def test_big_jpeg_is_shrunk_while_decoding() -> None:
    big = _jpeg(style_painting((3000, 2000)), quality=80)
    image = load_image(big, max_side=256)
    assert image.size == (256, 171)


def test_canvases_keep_shapes_few() -> None:
    assert canvas_for(4000, 3000, 512).size == (512, 384)
    assert canvas_for(3000, 4000, 512).size == (384, 512)
    assert canvas_for(4000, 2999, 512).size == canvas_for(4000, 3010, 512).size
    assert canvas_for(100, 100, 64).size == (64, 64)
    # Every aspect ratio from 1:1 to 4:1, both ways, on both stages of a 512 px picture: 26 shapes, not 74.
    ratios = np.linspace(1, 4, 2000)
    shapes = {canvas_for(1000, round(1000 / r), side).size for r in ratios for side in (256, 512)}
    shapes |= {(h, w) for w, h in shapes}
    assert len(shapes) == 26


@pytest.mark.parametrize("ratio", np.linspace(1, 4, 61).tolist())
def test_canvas_distorts_little_and_the_result_keeps_the_photos_shape(ratio: float) -> None:
    width, height = 1200, round(1200 / ratio)
    for side in (48, 256, 512, 1024):
        canvas = canvas_for(width, height, side)
        box_w, box_h = canvas.box_size
        assert abs((box_w / box_h) / (width / height) - 1) <= MAX_STRETCH + 1 / box_h  # the stretch, and rounding
        assert canvas.output == (side, round(side * height / width))
        assert canvas.size[0] % 16 == 0 and canvas.size[1] % 16 == 0
        photo = content_photo((width // 10, height // 10))
        assert canvas.place(photo).size == canvas.size
        assert canvas.crop(canvas.place(photo)).size == canvas.output


def test_the_mirrored_strip_is_cropped_off() -> None:
    photo = Image.new("RGB", (300, 200), (200, 30, 30))  # 3:2 on a 4:3 canvas: mirrored rows above and below
    canvas = canvas_for(*photo.size, 512)
    assert canvas.size == (512, 384) and canvas.box[1] > 0
    placed = canvas.place(photo)
    assert placed.getpixel((5, 2)) == (200, 30, 30)
    painted = placed.copy()
    painted.paste((0, 0, 255), (0, 0, 512, canvas.box[1]))  # whatever is painted on the strip is not delivered
    delivered = canvas.crop(painted)
    assert delivered.size == (512, 341) and delivered.getpixel((256, 0)) == (200, 30, 30)


@pytest.mark.parametrize("ratio", [1, 4, 8, 16])
def test_canvases_hold_photos_up_to_the_longest_accepted(ratio: int) -> None:
    assert ratio <= MAX_CONTENT_ASPECT
    for side in (32, 64, 256, 512, 1024):
        canvas = canvas_for(1000 * ratio, 1000, side)
        left, top, right, bottom = canvas.box
        assert 0 <= left < right <= canvas.size[0] and 0 <= top < bottom <= canvas.size[1]
        assert canvas.output == (side, max(1, round(side / ratio))) and min(canvas.size) >= 16
        photo = content_photo((16 * ratio, 16))
        assert canvas.crop(canvas.place(photo)).size == canvas.output


def test_fit_style_crops_long_thin_paintings() -> None:
    strip = style_painting((2000, 10))
    assert fit_style(strip, 1024).size == (160, 10)  # at most MAX_STYLE_ASPECT
    assert MAX_STYLE_ASPECT == 16
    assert fit_style(strip, 64).size == (20, 10)  # 32 px short once its long side is 64
    assert fit_style(strip.transpose(Image.Transpose.TRANSPOSE), 512).size == (10, 160)
    assert fit_style(style_painting((100, 30)), 512).size == (100, 30)


@pytest.fixture(scope="module")
def net() -> Stylizer:
    return Stylizer(weights="random", seed=0)


TINY = StylizeOptions(max_side=64, iterations=2, optimizer="adam", multiscale=False)


@pytest.mark.parametrize("shape", [(2000, 10), (8, 1500)], ids=["wide", "tall"])
def test_a_long_thin_painting_keeps_rows_at_every_vgg_level(
    net: Stylizer, monkeypatch: pytest.MonkeyPatch, shape: tuple[int, int]
) -> None:
    """conv5_1 sees a picture at 1/16 of its size: every picture the network sees has ≥ 32 distinct rows and
    columns (a 200:1 strip shrunk to 64×1 and mirrored into a canvas would have one)."""
    runner = net.runner(TINY.optimizer)
    seen: list[np.ndarray] = []
    features = runner.features

    def spy(image: np.ndarray) -> object:
        seen.append(np.asarray(image))
        return features(image)

    monkeypatch.setattr(runner, "features", spy)
    result = net.stylize(style_painting((64, 64), seed=5), [style_painting(shape, seed=sum(shape))], TINY)
    assert np.isfinite(result.style_loss) and np.isfinite(result.content_loss)
    assert result.image.size == (64, 64) and len(seen) >= 3
    for image in seen:
        rows = len(np.unique(image[0].reshape(image.shape[1], -1), axis=0))
        columns = len(np.unique(image[0].transpose(1, 0, 2).reshape(image.shape[2], -1), axis=0))
        assert min(rows, columns) >= 32, image.shape


def test_a_far_too_thin_photo_is_refused_as_unusable(net: Stylizer) -> None:
    with pytest.raises(UnusablePictureError, match="too long and thin") as info:
        net.stylize(style_painting((2000, 60)), [style_painting((48, 48))], TINY)
    assert info.value.code == "unusable_picture"
    result = net.stylize(style_painting((1600, 100)), [style_painting((48, 48))], TINY)  # 16:1 is fine
    assert result.image.size == (64, 4)


def test_a_non_finite_loss_stops_the_job_as_an_unusable_picture(net: Stylizer) -> None:
    overflowing = StylizeOptions(max_side=48, iterations=2, optimizer="adam", multiscale=False, strength=1e38)
    with pytest.raises(UnusablePictureError, match="can't be used") as info:
        net.stylize(content_photo((48, 32)), [style_painting((48, 48))], overflowing)
    assert info.value.code == "unusable_picture"


def _cli(*args: str, backend: str = "tensorflow") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "stylebot.cli", "stylize", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )


@pytest.fixture
def photos(tmp_path: Path) -> tuple[Path, Path]:
    content, style = tmp_path / "photo.jpg", tmp_path / "painting.png"
    content_photo((48, 32)).save(content)
    style_painting((48, 48)).save(style)
    return content, style


def test_cli_bad_input_is_one_line_without_traceback(tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    _, style = photos
    proc = _cli(str(pdf), str(style), "-o", str(tmp_path / "out.png"), "--weights", "random", "--size", "32")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not an image" in errors[0]
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_cli_json_summary_on_each_backend(tmp_path: Path, photos: tuple[Path, Path], backend: str) -> None:
    if backend == "jax":
        pytest.importorskip("jax")
    content, style = photos
    out = tmp_path / "out.png"
    proc = _cli(str(content), str(style), "-o", str(out), "--weights", "random", "--size", "48",
                "--iterations", "4", "--json", backend=backend)
    assert proc.returncode == 0, proc.stderr
    assert "random weights" in proc.stderr  # the plumbing-only warning
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("output", "width", "height", "iterations", "evaluations", "seconds", "content_loss",
                "style_loss", "backend", "weights"):
        assert key in summary
    assert summary["backend"] == backend and summary["weights"] == "random"
    assert (summary["width"], summary["height"]) == (48, 32) and summary["iterations"] == 4
    assert Image.open(out).size == (48, 32)
