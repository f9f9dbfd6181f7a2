"""/privacy: what the bot keeps, for how long, who sees it and how to delete it (Telegram asks every bot for it).

The operator may replace the built-in text with their own: STYLEBOT_PRIVACY_FILE, a UTF-8 plain-text file read
once at start-up and sent as it is, in every language (plain text, so no character of it can break the message;
Telegram still makes its links clickable).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from ...core.privacy import NAMES, PRIVACY
from ..identity import translator_of
from ..requests import reply_to
from ..services import services
from .common import answer

TEXT_KEY = "stylebot.privacy"  # bot_data: the operator's text, or None for the built-in one


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: the operator's text as it is, else the built-in one in the reader's language."""
    msg = update.effective_message
    if msg is None:
        return
    own: str | None = context.bot_data.get(TEXT_KEY)
    if own is not None:
        # parse_mode=None: the file is plain text even if the application ever gets an HTML default.
        await msg.reply_text(own, parse_mode=None, reply_parameters=reply_to(msg.id))
        return
    days = f"{services(context).settings.retention_days:g}"
    t = translator_of(update)
    await answer(msg, t(PRIVACY, days=days) + "\n\n" + t(NAMES))
