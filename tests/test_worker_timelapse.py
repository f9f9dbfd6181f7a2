"""The time-lapse GIF: the frames in order, the finished picture last and held, small whatever the run's length."""

from __future__ import annotations

import io

from PIL import Image, ImageSequence

from worker.timelapse import FRAME_SIDE, HOLD_LAST_MS, MAX_FRAMES, MIN_FRAMES, TimeLapse


def shade(level: int) -> Image.Image:
    return Image.new("RGB", (640, 480), (level, 255 - level, 128))


def test_the_animation_runs_from_the_first_frame_to_the_result() -> None:
    timelapse = TimeLapse()
    for level in (0, 60, 120):
        timelapse.add(shade(level))
    animation = timelapse.gif(shade(250))
    assert animation is not None
    frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(Image.open(io.BytesIO(animation)))]
    assert len(frames) == 4 and max(frames[0].size) == FRAME_SIDE
    reds = [frame.getpixel((10, 10))[0] for frame in frames]  # type: ignore[index]
    assert [abs(red - level) <= 8 for red, level in zip(reds, (0, 60, 120, 250), strict=True)] == [True] * 4
    last = Image.open(io.BytesIO(animation))
    last.seek(3)
    assert last.info["duration"] == HOLD_LAST_MS


def test_a_long_run_keeps_a_bounded_number_of_frames_and_a_short_one_has_none() -> None:
    timelapse = TimeLapse()
    for level in range(200):
        timelapse.add(shade(level))
    animation = timelapse.gif(shade(255))
    assert animation is not None
    assert len(list(ImageSequence.Iterator(Image.open(io.BytesIO(animation))))) <= MAX_FRAMES + 1
    brief = TimeLapse()
    for level in range(MIN_FRAMES - 2):
        brief.add(shade(level))
    assert brief.gif(shade(255)) is None
