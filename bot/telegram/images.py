"""Downloading pictures from Telegram: the message's photo or document, read with the size limit kept while reading,
then checked once (bot.core.images)."""

from __future__ import annotations

import asyncio
import io
import os
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from telegram import Bot, File, Message
from telegram.error import NetworkError, TimedOut

from ..core import limits
from ..core.images import TOO_BIG, BadImage, Checked, DecodeGate, check_image
from ..core.limits import ImageRef

DOWNLOAD_TIMEOUT = httpx.Timeout(20.0, connect=10.0, pool=10.0)
DOWNLOAD_CHUNK = 64 * 1024


def image_ref(message: Message | None) -> ImageRef | None:
    """The message's photo (largest size) or document, or None when it has neither."""
    if message is None:
        return None
    if message.photo:
        size = message.photo[-1]
        return ImageRef(size.file_id, size.file_unique_id, size.file_size, "image/jpeg", "photo", message.id)
    doc = message.document
    if doc is not None:
        return ImageRef(doc.file_id, doc.file_unique_id, doc.file_size, doc.mime_type, "document", message.id)
    return None


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
