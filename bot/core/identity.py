"""Who is asking: a person, or the chat they post as (bot.telegram.identity tells who it is from an update)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requester:
    """A person, or the chat they post as."""

    id: int
    name: str
    as_chat: bool = False  # posting as a group (anonymous admin) or a channel
    language: str = ""  # the person's language_code (Telegram's; "" when unknown)
