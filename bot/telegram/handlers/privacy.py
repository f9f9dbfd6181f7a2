"""/privacy: what the bot keeps, for how long, who sees it and how to delete it (Telegram asks every bot for it).

The operator may replace the built-in text with their own: STYLEBOT_PRIVACY_FILE, a UTF-8 plain-text file read
once at start-up and sent as it is, in every language (plain text, so no character of it can break the message;
Telegram still makes its links clickable).
"""

from __future__ import annotations

from pathlib import Path

from telegram import Update
from telegram.constants import MessageLimit
from telegram.ext import ContextTypes

from settings import Settings

from ...core.i18n import N_
from ..identity import translator_of
from ..requests import reply_to
from ..services import services
from .common import answer

TEXT_KEY = "stylebot.privacy"  # bot_data: the operator's text, or None for the built-in one

PRIVACY = N_(
    "🔒 <b>Privacy</b>\n\n"
    "<b>What I keep:</b> the photos and style pictures you send me, the paintings I make of them, your settings "
    "(strength, size, colours, quality), the history of your requests and the styles you save.\n\n"
    "<b>For how long:</b> I delete pictures and finished requests after {days} days. Your settings and saved "
    "styles stay until you delete them.\n\n"
    "<b>Who can see it:</b> only the people who run this bot. In a group, I post the paintings to the group, so "
    "its members see them.\n\n"
    "<b>Sharing:</b> nothing is shared with third parties or used for anything but painting your pictures.\n\n"
    "<b>Deleting everything:</b> send /forget. It deletes your pictures, your history, your settings and the "
    "styles you saved in our private chat. Today's count of your pictures stays, so the daily limit still "
    "holds; styles you saved in a group stay with the group."
)


NAMES = N_(
    "<b>Names:</b> with your requests I keep your Telegram name (for an anonymous group admin: the group's "
    "title), to name you under your pictures in groups. It is cleared once none of your requests, waiting "
    "photos or chosen styles is left, and /forget deletes it with the rest. If some pictures can't be deleted "
    "right away, /forget says so and they go at the next clean-up."
)


def operator_text(settings: Settings) -> str | None:
    """The text of STYLEBOT_PRIVACY_FILE (None when unset); ValueError in one line when it can't be sent."""
    path = settings.privacy_file
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8-sig").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ValueError(f"STYLEBOT_PRIVACY_FILE={str(path)!r} can't be read: {reason}") from None
    if not text:
        raise ValueError(f"STYLEBOT_PRIVACY_FILE={str(path)!r} is empty")
    if len(text) > MessageLimit.MAX_TEXT_LENGTH:
        raise ValueError(
            f"STYLEBOT_PRIVACY_FILE={str(path)!r} has {len(text)} characters; a Telegram message holds "
            f"{MessageLimit.MAX_TEXT_LENGTH} (link to the full policy instead)"
        )
    return text


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
