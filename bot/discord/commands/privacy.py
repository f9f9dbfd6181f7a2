"""/privacy: what the bot keeps, for how long, who sees it and how to delete it; or the operator's own text
(STYLEBOT_PRIVACY_FILE, read once at start-up and sent as it is)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from ...core.privacy import DISCORD_NAMES, PRIVACY, operator_text
from ..identity import translator_of
from ..locale import described, pgettext
from ..replies import tell
from ..services import services
from .common import pieces

if TYPE_CHECKING:
    from ..app import StyleBot


def privacy_command(own: str | None) -> app_commands.Command[Any, ..., None]:
    """/privacy, answering with the operator's text `own` when there is one."""

    @app_commands.command(
        name=pgettext("discord command", "privacy"), description=described("What I keep, and how to delete it")
    )
    async def privacy(interaction: discord.Interaction[Any]) -> None:
        """/privacy: the operator's text as it is, else the built-in one in the reader's language."""
        if own is not None:
            first, *rest = pieces(discord.utils.escape_mentions(own))
            await interaction.response.send_message(first, ephemeral=True, suppress_embeds=True)
            for piece in rest:
                await interaction.followup.send(piece, ephemeral=True, suppress_embeds=True)
            return
        t = translator_of(interaction)
        days = f"{services(interaction).settings.retention_days:g}"
        await tell(interaction, t(PRIVACY, days=days) + "\n\n" + t(DISCORD_NAMES))

    return privacy


def setup(client: StyleBot) -> None:
    """Register /privacy (a privacy file that can't be sent stops the start, in one line)."""
    client.tree.add_command(privacy_command(operator_text(client.svc.settings)))
