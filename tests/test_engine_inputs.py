"""Bad or unusual images get one clear engine error (never a crash); good ones are decoded sensibly."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from engine.errors import BadImageError
from engine.images import bucket_size, load_image
from tests.synthetic import content_photo, style_painting

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


def test_size_buckets_keep_shapes_few() -> None:
    assert bucket_size(4000, 3000, 512) == (512, 384)
    assert bucket_size(3000, 4000, 512) == (384, 512)
    assert bucket_size(4000, 2999, 512) == bucket_size(4000, 3010, 512)
    assert bucket_size(100, 100, 64) == (64, 64)


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
