"""A painting's progress as a small animated GIF: frames taken while the job runs, the result last.

The frames are few and small (a bounded list, thinned evenly when full), so a job of any length costs a few
hundred kilobytes of memory and storage.
"""

from __future__ import annotations

import io

from PIL import Image

FRAME_SIDE = 192  # the animation's longest side
MAX_FRAMES = 24
FRAME_MS = 250
HOLD_LAST_MS = 2000  # the finished picture stays up a while before the loop starts again
MIN_FRAMES = 3  # with fewer, there is no progress worth showing


class TimeLapse:
    def __init__(self) -> None:
        self.frames: list[Image.Image] = []

    def add(self, picture: Image.Image) -> None:
        """Keep a small copy; when full, keep every other frame, so they stay evenly spread over the run."""
        frame = picture.convert("RGB")
        frame.thumbnail((FRAME_SIDE, FRAME_SIDE))
        self.frames.append(frame)
        if len(self.frames) > MAX_FRAMES:
            self.frames = self.frames[::2]

    def gif(self, result: Image.Image) -> bytes | None:
        """The animation ending on the result, or None when the job ran too briefly for one."""
        if len(self.frames) + 1 < MIN_FRAMES:
            return None
        last = result.convert("RGB")
        last.thumbnail((FRAME_SIDE, FRAME_SIDE))
        # Each frame gets its own palette by fast octree: Pillow's default (median cut) takes ~35 ms a frame, which
        # held up every job's result by most of a second; octree takes under 1 ms and looks the same at this size.
        frames = [_palette(frame.resize(last.size)) for frame in self.frames] + [_palette(last)]
        out = io.BytesIO()
        durations = [FRAME_MS] * (len(frames) - 1) + [HOLD_LAST_MS]
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
        return out.getvalue()


def _palette(frame: Image.Image) -> Image.Image:
    return frame.quantize(256, method=Image.Quantize.FASTOCTREE)
