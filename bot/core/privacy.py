"""The privacy text every front end shows (/privacy), and the operator's own (STYLEBOT_PRIVACY_FILE): a UTF-8
plain-text file read once at start-up and sent as it is, in every language."""

from __future__ import annotations

from pathlib import Path

from settings import Settings

from .i18n import N_

TELEGRAM_MAX_TEXT = 4096  # characters in a Telegram message

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

DISCORD_NAMES = N_(
    "<b>Names:</b> with your requests I keep your Discord display name, to name you under your pictures in "
    "servers. It is cleared once none of your requests, waiting photos or chosen styles is left, and /forget "
    "deletes it with the rest. If some pictures can't be deleted right away, /forget says so and they go at the "
    "next clean-up."
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
    if len(text) > TELEGRAM_MAX_TEXT:
        raise ValueError(
            f"STYLEBOT_PRIVACY_FILE={str(path)!r} has {len(text)} characters; a Telegram message holds "
            f"{TELEGRAM_MAX_TEXT} (link to the full policy instead)"
        )
    return text
