"""/me: the user's queued and running pictures, today's count against the daily limit, the storage they use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from jobs.identities import Platform

from ...core.account import me_text
from ..identity import translator_of
from ..locale import described, pgettext
from ..replies import tell
from ..services import services

if TYPE_CHECKING:
    from ..app import StyleBot


@app_commands.command(
    name=pgettext("discord command", "me"), description=described("Your queue, today's count and storage")
)
async def me_command(interaction: discord.Interaction[Any]) -> None:
    """/me: what the bot is doing for you and what it keeps of yours (only you see it)."""
    svc = services(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)  # the storage listing may take a while
    user = await svc.stored(interaction.user.id)
    await tell(interaction, await me_text(svc, Platform.DISCORD, user, translator_of(interaction)))


def setup(client: StyleBot) -> None:
    """Register /me."""
    client.tree.add_command(me_command)
