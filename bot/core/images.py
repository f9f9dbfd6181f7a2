"""Checking pictures a chat sent: each is decoded by `imaging` (the one decoder the engine uses too) once, through a
gate that bounds how many are decoded at once, and small JPEGs of it kept for its status message and its sketch.
Downloading them is the front end's (bot.telegram.images)."""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from PIL import Image

from imaging import MAX_PIXELS, BadPicture, decode

from .i18n import N_, Text

MIN_SIDE = 16
THUMB_SIDE = 320  # the status message's picture
SKETCH_SIDE = 512  # a picture is checked decoded at (at least) this scale, the sketch's: the whole file is still read
# Pictures the bot decodes at once. A picture of MAX_PIXELS (64 MP) takes up to 4 bytes a pixel (256 MB) while it is
# decoded, before it is scaled down to THUMB_SIDE; two at once keep the bot under 1 GB (bench/decode_memory.py)
# while a big picture does not hold up everyone else's (a small one decodes in milliseconds).
DECODE_SLOTS = 2
THUMB_CACHE = 512  # thumbnails kept per bot (~20 KB each): a waiting photo's, for its status message later
SKETCH_INPUT_CACHE = 256  # the sketch's inputs kept per bot (~60 KB each): a waiting photo's, and the presets

TOO_BIG = N_("That file is larger than 20 MB; please send a smaller picture.")
DAMAGED = N_("I couldn't read that picture; the file seems damaged. Please send another one.")
NOT_A_PICTURE = N_(
    "I couldn't read that picture: the file seems damaged, or it isn't a JPEG, PNG, WebP, BMP, TIFF or GIF "
    "picture. Please send another one."
)


class BadImage(Exception):
    """A picture that can't be used; `text` says why to the user (str(exc) in English)."""

    def __init__(self, text: Text) -> None:
        super().__init__(text)
        self.text = text


def refusal_text(exc: BadPicture) -> Text:
    """What the user reads when the decoder refuses their picture (by its stable reason)."""
    if exc.reason == "too_large":
        if exc.size is None:
            return N_("That picture is far too large; please send a smaller one.")
        width, height = exc.size
        return N_(
            "That picture is {width}×{height}; please send one under {megapixels} megapixels.",
            width=width,
            height=height,
            megapixels=MAX_PIXELS // 1_000_000,
        )
    if exc.reason == "too_small" and exc.size is not None:
        width, height = exc.size
        return N_(
            "That picture is only {width}×{height}; please send one at least {min_side} px wide.",
            width=width,
            height=height,
            min_side=MIN_SIDE,
        )
    if exc.reason in ("unsupported", "empty"):
        return NOT_A_PICTURE
    return DAMAGED


P = ParamSpec("P")
R = TypeVar("R")


class DecodeGate:
    """Every picture the bot decodes goes through this: at most `slots` at once (the rest wait their turn), each in a
    thread. `decodes` counts them and `peak` is the most that ran at once (what the tests and /stats can read)."""

    def __init__(self, slots: int = DECODE_SLOTS) -> None:
        self.slots = slots
        self._semaphore = asyncio.Semaphore(slots)
        self.running = 0
        self.peak = 0
        self.decodes = 0

    async def run(self, decode_call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        async with self._semaphore:
            self.running += 1
            self.decodes += 1
            self.peak = max(self.peak, self.running)
            try:
                return await asyncio.to_thread(decode_call, *args, **kwargs)
            finally:
                self.running -= 1


class JpegCache:
    """Small JPEGs made when pictures were checked, by storage key (the newest `size`), so a picture is decoded
    once: its status message (the thumbnail) and its sketch (a copy at SKETCH_SIDE) reuse them."""

    def __init__(self, size: int = THUMB_CACHE) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        thumb = self._items.get(key)
        if thumb is not None:
            self._items.move_to_end(key)
        return thumb

    def put(self, key: str, thumb: bytes) -> None:
        self._items[key] = thumb
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class Checked:
    """A downloaded picture that decodes: its bytes, upright (width, height), a thumbnail and a copy at most
    SKETCH_SIDE a side (both JPEG)."""

    data: bytes
    size: tuple[int, int]
    thumbnail: bytes
    sketch_input: bytes


def check_image(data: bytes) -> Checked:
    """Decode the picture once, at a reduced scale (imaging's `reduce`: its pixels are read in full, then scaled
    down before anything else): its size and thumbnail; raises BadImage when it can't be fully decoded (or is
    refused: a format other than imaging.FORMATS, too many pixels, a side under MIN_SIDE)."""
    try:
        picture = decode(data, draft_side=SKETCH_SIDE, min_side=MIN_SIDE, reduce=True)
    except BadPicture as exc:
        raise BadImage(refusal_text(exc)) from exc
    sketch_input = _jpeg_thumbnail(picture.image, SKETCH_SIDE)
    return Checked(data, picture.size, _jpeg_thumbnail(picture.image, THUMB_SIDE), sketch_input)


def validate_image(data: bytes) -> tuple[int, int]:
    """The picture's upright (width, height); raises BadImage as check_image does."""
    return check_image(data).size


def thumbnail_bytes(data: bytes, side: int = THUMB_SIDE) -> bytes:
    """A small JPEG of the picture (for status messages and preset lists); BadPicture when it can't be decoded."""
    return _jpeg_thumbnail(decode(data, draft_side=side, reduce=True).image, side)


def sketch_input_bytes(data: bytes) -> bytes:
    """A JPEG of the picture at most SKETCH_SIDE a side (for a picture not checked by this process)."""
    return _jpeg_thumbnail(decode(data, draft_side=SKETCH_SIDE, reduce=True).image, SKETCH_SIDE)


def _jpeg_thumbnail(image: Image.Image, side: int) -> bytes:
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
