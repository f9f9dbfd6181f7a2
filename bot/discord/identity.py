"""Who asks and where, in stored ids; the reader's language from Discord's locale."""

from __future__ import annotations

from typing import Any

import discord

from jobs.identities import Platform

from ..core.i18n import Translator, translator
from ..core.identity import Requester
from .services import DiscordServices

PRIVATE = "private"  # chat_type of a DM (as on Telegram: results there name nobody)
GUILD = "guild"  # chat_type of a server channel


def translator_of(interaction: discord.Interaction[Any]) -> Translator:
    """The catalog for the user's Discord locale (en-US, en-GB, es-ES, ru, zh-CN…)."""
    return translator(interaction.locale.value)


async def requester(svc: DiscordServices, user: discord.abc.User, locale: str = "") -> Requester:
    """A Discord user as the job core knows them."""
    return Requester(id=await svc.stored(user.id), name=user.display_name, language=locale)


async def requester_of(interaction: discord.Interaction[Any]) -> Requester:
    """Who made this interaction."""
    from .services import services

    return await requester(services(interaction), interaction.user, interaction.locale.value)


async def chat_id(svc: DiscordServices, channel_id: int) -> int:
    """The stored chat id of a channel (a DM is a channel too): jobs, results and waiting photos live there."""
    return await svc.identities.stored_id(Platform.DISCORD, channel_id)


async def presets_chat(svc: DiscordServices, guild_id: int | None, channel_id: int) -> int:
    """Where a chat's saved styles live: the server (every channel of it shares them), or the DM channel."""
    return await chat_id(svc, guild_id if guild_id is not None else channel_id)


def chat_type(guild_id: int | None) -> str:
    return PRIVATE if guild_id is None else GUILD
