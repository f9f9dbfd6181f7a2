"""Pictures attached to Discord messages and commands: which attachments are pictures, and fetching one into the
storage through the core's checks and quotas (bot.core.requests.store_picture), decoded once (bot.core.images)."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence

import discord

from ..core import limits
from ..core.images import TOO_BIG, BadImage, Checked, DecodeGate, check_image
from ..core.limits import ImageRef
from ..core.requests import store_picture
from .services import DiscordServices


def mime_type(attachment: discord.Attachment) -> str | None:
    """The attachment's MIME type, without parameters (guessed from its name when Discord gives none)."""
    declared = attachment.content_type or mimetypes.guess_type(attachment.filename)[0]
    return declared.split(";", 1)[0].strip().lower() if declared else None


def is_picture(attachment: discord.Attachment) -> bool:
    return mime_type(attachment) in limits.IMAGE_MIME_TYPES


def pictures(attachments: Sequence[discord.Attachment]) -> list[discord.Attachment]:
    """The attachments that are pictures, in their order."""
    return [a for a in attachments if is_picture(a)]


def image_ref(attachment: discord.Attachment, message_id: int = 0) -> ImageRef:
    """The attachment as the core knows a picture (a "document": its type is checked before it is fetched)."""
    return ImageRef(
        file_id=attachment.url,
        file_unique_id=f"discord-{attachment.id}",
        file_size=attachment.size,
        mime_type=mime_type(attachment),
        kind="document",
        message_id=message_id,
    )


async def download(attachment: discord.Attachment, gate: DecodeGate, *, max_bytes: int | None = None) -> Checked:
    """The attachment's bytes from Discord's CDN, checked (decoded once, through `gate`)."""
    limit = limits.MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    if attachment.size > limit:
        raise BadImage(TOO_BIG)
    data = await attachment.read()
    if len(data) > limit:
        raise BadImage(TOO_BIG)
    return await gate.run(check_image, data)


async def fetch(svc: DiscordServices, user_id: int, attachment: discord.Attachment, message_id: int = 0) -> str:
    """Download (or reuse) an attached picture for a painting into the storage; its key (Refused when it can't be
    used or the user may not start a painting now)."""
    ref = image_ref(attachment, message_id)
    return await store_picture(svc, user_id, ref, lambda _: download(attachment, svc.decodes))
