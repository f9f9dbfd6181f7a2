"""The shared texts (bot.core, written in Telegram's HTML subset) as Discord markdown."""

from __future__ import annotations

import html
import re

import discord

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAGS = {"b": "**", "strong": "**", "i": "*", "em": "*", "u": "__", "s": "~~", "code": "`", "pre": "```"}
_TAG = re.compile(r"</?([a-z]+)(?: [^>]*)?>")
MAX_CONTENT = 2000  # characters in a Discord message


def markdown(text: str) -> str:
    """Telegram HTML (<b>, <i>, <code>, <a href>…, entities escaped) as Discord markdown; what the user typed, as
    it appears in the text, is escaped so it can't format anything."""
    parts: list[str] = []
    last = 0
    for match in _LINK.finditer(text):
        parts.append(_inline(text[last : match.start()]))
        parts.append(f"[{_inline(match.group(2))}](<{html.unescape(match.group(1))}>)")
        last = match.end()
    parts.append(_inline(text[last:]))
    return "".join(parts)[:MAX_CONTENT]


def _inline(fragment: str) -> str:
    out: list[str] = []
    last = 0
    for match in _TAG.finditer(fragment):
        out.append(discord.utils.escape_markdown(html.unescape(fragment[last : match.start()])))
        out.append(_TAGS.get(match.group(1), ""))
        last = match.end()
    out.append(discord.utils.escape_markdown(html.unescape(fragment[last:])))
    return "".join(out)
