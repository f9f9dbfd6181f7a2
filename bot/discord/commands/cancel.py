"""/cancel: stop the user's queued and running pictures in this channel and drop their waiting photo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from ..cancel import cancel_mine
from ..identity import chat_id, translator_of
from ..locale import described, pgettext
from ..replies import tell
from ..services import services

if TYPE_CHECKING:
    from ..app import StyleBot


@app_commands.command(name=pgettext("discord command", "cancel"), description=described("Stop the current painting"))
async def cancel_command(interaction: discord.Interaction[Any]) -> None:
    """/cancel: stop your pictures in this channel and forget the photo you sent."""
    svc, t = services(interaction), translator_of(interaction)
    here, user = await chat_id(svc, interaction.channel_id or 0), await svc.stored(interaction.user.id)
    cancelled = await cancel_mine(svc, here, user)
    dropped = await svc.chat_state.clear_pending(here, user)
    if cancelled:
        await tell(interaction, t.ngettext("Cancelled {n} picture.", "Cancelled {n} pictures.", cancelled))
    elif dropped:
        await tell(interaction, t.gettext("OK, I forgot the photo you sent."))
    else:
        await tell(interaction, t.gettext("There is nothing to cancel."))


def setup(client: StyleBot) -> None:
    """Register /cancel."""
    client.tree.add_command(cancel_command)
