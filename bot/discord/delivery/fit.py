"""Pictures that fit Discord's upload limit: a result over it is sent as a smaller JPEG."""

from __future__ import annotations

import io
from dataclasses import dataclass

import discord
from PIL import Image

from imaging import decode

from ...core.i18n import Translator
from ...core.services import Services

DEFAULT_LIMIT = 10 * 1024 * 1024  # 10 MiB: a server without boosts, and DMs
QUALITIES = (90, 80, 70, 60, 50, 40)
SHRINK = 0.75  # each round past the lowest quality scales the picture down this much
MIN_SIDE = 64
TOO_LARGE = 40005  # Discord's code for a file over the limit (HTTP 413)


@dataclass(frozen=True)
class Upload:
    """What is sent: the bytes, their file name, and whether they are a smaller copy of the picture."""

    data: bytes
    filename: str
    smaller: bool = False

    def file(self) -> discord.File:
        return discord.File(io.BytesIO(self.data), filename=self.filename)


def smaller_jpeg(data: bytes, limit: int) -> bytes:
    """The picture as a JPEG of at most `limit` bytes: lower quality first, then smaller sides."""
    image = decode(data).image.convert("RGB")
    while True:
        for quality in QUALITIES:
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return out.getvalue()
        if max(image.size) <= MIN_SIDE:
            return out.getvalue()
        side = max(MIN_SIDE, int(max(image.size) * SHRINK))
        image.thumbnail((side, side), Image.Resampling.LANCZOS)


async def fitted(svc: Services, data: bytes, filename: str, limit: int) -> Upload:
    """`data` as is when it fits `limit`, else a smaller JPEG (decoded through the bot's decode gate)."""
    if len(data) <= limit:
        return Upload(data, filename)
    smaller = await svc.decodes.run(smaller_jpeg, data, limit)
    stem = filename.rsplit(".", 1)[0]
    return Upload(smaller, f"{stem}.jpg", smaller=True)


def too_large(exc: discord.HTTPException) -> bool:
    """Whether Discord refused an upload as over its limit."""
    return exc.status == 413 or exc.code == TOO_LARGE


def smaller_note(t: Translator) -> str:
    """The caption line of a result sent as a smaller copy."""
    return t.gettext("📉 Sent as a smaller JPEG: the full picture is over the upload limit here.")
