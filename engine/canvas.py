"""Where a photo is painted: one of a few canvas shapes, so compiled loops are reused across requests.

The long side is the requested side; the short side snaps to a multiple of side/8 (64 px at 512). The photo is
stretched to fill it when that distorts it by at most 5 %; otherwise it is stretched that far and the rest of the
canvas is filled with its mirror image. The mirrored strip is cropped off at the end and the picture resized to
the photo's own aspect ratio, so the delivered picture is never distorted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

SIZE_STEP = 16  # VGG pools four times, so canvas sides are multiples of 16 where they can be
SHORT_SIDE_STEPS = 8  # the short side snaps to multiples of side / 8
MAX_STRETCH = 0.05  # how much the photo may be distorted while it is painted (undone at the end)

Size = tuple[int, int]  # (width, height)
Box = tuple[int, int, int, int]  # (left, top, right, bottom)


@dataclass(frozen=True)
class Canvas:
    """A canvas shape and the box in it that holds the (slightly stretched) photo."""

    size: Size
    box: Box
    output: Size  # the photo's own aspect ratio at this canvas's long side

    def place(self, image: Image.Image, resample: Image.Resampling = Image.Resampling.LANCZOS) -> Image.Image:
        """`image` (the photo, or a picture of the photo's aspect ratio) fitted into the box, mirrored around it."""
        left, top, right, bottom = self.box
        fitted = image.resize((right - left, bottom - top), resample) if image.size != self.box_size else image
        if fitted.size == self.size:
            return fitted
        pad = ((top, self.size[1] - bottom), (left, self.size[0] - right), (0, 0))
        return Image.fromarray(np.pad(np.asarray(fitted), pad, mode="reflect"))

    def crop(self, image: Image.Image) -> Image.Image:
        """The painted photo without the mirrored strip, at its own aspect ratio."""
        inner = image.crop(self.box) if image.size != self.box_size else image
        return inner.resize(self.output, Image.Resampling.BICUBIC) if inner.size != self.output else inner

    @property
    def box_size(self) -> Size:
        left, top, right, bottom = self.box
        return right - left, bottom - top


def canvas_for(width: int, height: int, side: int) -> Canvas:
    """The canvas for a `width`×`height` photo painted with its long side at `side` pixels."""
    exact = side * min(width, height) / max(width, height)
    short = short_side_bucket(exact, side)
    fitted = min(short, max(1, round(exact * (1 + MAX_STRETCH))))
    before = (short - fitted) // 2
    output_short = max(1, round(exact))
    if width >= height:
        return Canvas((side, short), (0, before, side, before + fitted), (side, output_short))
    return Canvas((short, side), (before, 0, before + fitted, side), (output_short, side))


def short_side_bucket(exact: float, side: int) -> int:
    """The smallest snapped short side that the photo's short side `exact` reaches stretched by MAX_STRETCH."""
    step = max(SIZE_STEP, round(side / SHORT_SIDE_STEPS / SIZE_STEP) * SIZE_STEP)
    return min(side, max(step, math.ceil(exact / (1 + MAX_STRETCH) / step) * step))
