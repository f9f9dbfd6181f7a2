"""What every Discord handler needs: the shared Services plus Discord's ids mapped to stored ones (a Discord user
and a Telegram user with the same number are different people: jobs.identities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from jobs.identities import Platform

from ..core.services import Services

if TYPE_CHECKING:
    from .app import StyleBot


@dataclass
class DiscordServices(Services):
    async def stored(self, discord_id: int) -> int:
        """The stored id of a Discord user, channel or server."""
        return await self.identities.stored_id(Platform.DISCORD, discord_id)

    async def discord_id(self, stored_id: int) -> int | None:
        """The Discord id behind a stored id (None: not a Discord one)."""
        return await self.identities.external_id(stored_id)


def client_of(interaction: discord.Interaction[Any]) -> StyleBot:
    """The bot an interaction came to."""
    from .app import StyleBot

    client = interaction.client
    assert isinstance(client, StyleBot)
    return client


def services(interaction: discord.Interaction[Any]) -> DiscordServices:
    """The Services of the bot an interaction came to."""
    return client_of(interaction).svc
