"""Downloading pictures from Telegram: the size limit kept while reading, checked by `imaging` (the one decoder the
engine uses too) once per picture, through a gate that bounds how many are decoded at once."""

from __future__ import annotations

import asyncio
import io
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from PIL import Image
from telegram import Bot, File
from telegram.error import NetworkError, TimedOut

from imaging import MAX_PIXELS, BadPicture, decode

from . import limits
from .i18n import N_, Text
from .limits import ImageRef

MIN_SIDE = 16
THUMB_SIDE = 320  # the status message's picture
SKETCH_SIDE = 512  # a picture is checked decoded at (at least) this scale, the sketch's: the whole file is still read
# Pictures the bot decodes at once. A picture of MAX_PIXELS (64 MP) takes up to 4 bytes a pixel (256 MB) while it is
# decoded, before it is scaled down to THUMB_SIDE; two at once keep the bot under 1 GB (bench/decode_memory.py)
# while a big picture does not hold up everyone else's (a small one decodes in milliseconds).
DECODE_SLOTS = 2
THUMB_CACHE = 512  # thumbnails kept per bot (~20 KB each): a waiting photo's, for its status message later
SKETCH_INPUT_CACHE = 256  # the sketch's inputs kept per bot (~60 KB each): a waiting photo's, and the presets
DOWNLOAD_TIMEOUT = httpx.Timeout(20.0, connect=10.0, pool=10.0)
DOWNLOAD_CHUNK = 64 * 1024

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


async def download(bot: Bot, ref: ImageRef, gate: DecodeGate, *, max_bytes: int | None = None) -> Checked:
    """The picture from Telegram, checked (decoded once, through `gate`). Reading stops at `max_bytes`
    (limits.MAX_DOWNLOAD_BYTES) even when Telegram does not say how large the file is (a local Bot API server may
    not)."""
    limit = limits.MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    tg_file = await bot.get_file(ref.file_id)
    if tg_file.file_size is not None and tg_file.file_size > limit:
        raise BadImage(TOO_BIG)
    data = await read_file(tg_file, limit)
    return await gate.run(check_image, data)


async def read_file(tg_file: File, limit: int) -> bytes:
    """A Telegram file's bytes, read at most `limit` of them (BadImage past that).

    PTB's own `download_*` methods read the whole body into memory first, so the file is streamed here: from its
    URL (like PTB's, with the bot's timeouts), or from disk for a local Bot API server in --local mode.
    """
    path = tg_file.file_path
    if not path:
        raise NetworkError("Telegram gave no path to download the file from")
    if not path.startswith(("http://", "https://")):
        return await asyncio.to_thread(_read_local, path, limit)
    buffer = io.BytesIO()
    try:
        async with (
            httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT) as client,
            client.stream("GET", _encoded_url(path), headers={"User-Agent": "StyleBot"}) as response,
        ):
            if response.status_code != 200:
                raise NetworkError(f"downloading the file failed: HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BadImage(TOO_BIG)
            async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                if buffer.tell() + len(chunk) > limit:
                    raise BadImage(TOO_BIG)
                buffer.write(chunk)
    except httpx.TimeoutException as exc:
        raise TimedOut("downloading the file timed out") from exc
    except httpx.HTTPError as exc:
        raise NetworkError(f"downloading the file failed: {type(exc).__name__}") from exc
    return buffer.getvalue()


def _read_local(path: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > limit:
                raise BadImage(TOO_BIG)
            data = handle.read(limit + 1)
    except OSError as exc:
        raise NetworkError(f"reading the downloaded file failed: {type(exc).__name__}") from exc
    if len(data) > limit:
        raise BadImage(TOO_BIG)
    return data


def _encoded_url(url: str) -> str:
    """The URL with any non-ASCII in its path percent-encoded (as PTB's File does)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=quote(parts.path)))


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
