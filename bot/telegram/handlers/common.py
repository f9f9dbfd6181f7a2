"""Small helpers shared by the handlers."""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatType, ParseMode

from ..requests import reply_to


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def answer(message: Message, text: str, **kwargs: object) -> Message:
    """Reply to the message in HTML (replies keep group conversations readable)."""
    return await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_parameters=reply_to(message.id),
        **kwargs,  # type: ignore[arg-type]
    )
