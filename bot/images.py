"""Downloading pictures from Telegram: the size limit kept while reading, checked by `imaging` (the one decoder the
engine uses too), saved to the storage."""

from __future__ import annotations

import asyncio
import io
import os
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from telegram import Bot, File
from telegram.error import NetworkError, TimedOut

from imaging import MAX_PIXELS, BadPicture, decode
from jobs.storage import Storage

from . import limits
from .i18n import N_, Text
from .limits import ImageRef

MIN_SIDE = 16
THUMB_SIDE = 320
CHECK_SIDE = 1024  # a JPEG is checked decoded at a reduced scale, down to this: the whole file is still read
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


def validate_image(data: bytes) -> tuple[int, int]:
    """The picture's upright (width, height); raises BadImage when it can't be fully decoded (or is refused: a
    format other than imaging.FORMATS, too many pixels, a side under MIN_SIDE)."""
    try:
        return decode(data, draft_side=CHECK_SIDE, min_side=MIN_SIDE).size
    except BadPicture as exc:
        raise BadImage(refusal_text(exc)) from exc


async def download(bot: Bot, ref: ImageRef, *, max_bytes: int | None = None) -> bytes:
    """The picture's bytes from Telegram, validated. Reading stops at `max_bytes` (limits.MAX_DOWNLOAD_BYTES) even
    when Telegram does not say how large the file is (a local Bot API server may not)."""
    limit = limits.MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    tg_file = await bot.get_file(ref.file_id)
    if tg_file.file_size is not None and tg_file.file_size > limit:
        raise BadImage(TOO_BIG)
    data = await read_file(tg_file, limit)
    await asyncio.to_thread(validate_image, data)
    return data


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


async def fetch_image(bot: Bot, ref: ImageRef, storage: Storage, key: str) -> str:
    """Download the picture into the storage under `key` (once: a stored one is reused) after validating it."""
    if await asyncio.to_thread(storage.exists, key):
        return key
    data = await download(bot, ref)
    await asyncio.to_thread(storage.put, key, data)
    return key


def thumbnail_bytes(data: bytes, side: int = THUMB_SIDE) -> bytes:
    """A small JPEG of the picture (for status messages and preset lists); BadPicture when it can't be decoded."""
    image = decode(data, draft_side=side).image
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
