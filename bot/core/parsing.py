"""Parsing of command text: `/style starry night`, `/style@BotName starry`, preset names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .i18n import N_

PRESET_NAME_MAX = 32
_NAME_OK = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NAME_RULES = N_("A style name uses letters, digits, - and _ (at most 32), e.g. /savestyle my_watercolour")


@dataclass(frozen=True)
class Command:
    name: str  # lowercase, without the slash or @BotName
    args: tuple[str, ...]

    @property
    def arg_text(self) -> str:
        return " ".join(self.args)


def parse_command(text: str | None, bot_username: str | None) -> Command | None:
    """The command at the start of `text`, or None (also when it is addressed to another bot)."""
    if not text or not text.startswith("/"):
        return None
    head, *rest = text.split()
    name, _, target = head[1:].partition("@")
    if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        return None
    if target and (not bot_username or target.lower() != bot_username.lower()):
        return None
    return Command(name.lower(), tuple(rest))


def preset_key(words: tuple[str, ...] | list[str] | str) -> str:
    """The lookup form of a preset name: lowercase, words joined by `_` (`Starry Night` → `starry_night`)."""
    if isinstance(words, str):
        words = words.split()
    return "_".join(w.strip().lower() for w in words if w.strip())


def validate_preset_name(raw: str) -> str | None:
    """The normalised name, or None when it is not a usable preset name."""
    name = preset_key(raw)
    if not name or len(name) > PRESET_NAME_MAX or not _NAME_OK.match(name):
        return None
    return name
