"""/settings: the user's strength, size, strokes, colours, quality and sketch-only, changed with selects and
buttons (bot.discord.settings_view), visible only to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from ...core.captions import settings_text
from ..identity import translator_of
from ..locale import described, pgettext
from ..replies import tell
from ..services import services
from ..settings_view import SettingSelect, SettingToggle, settings_view

if TYPE_CHECKING:
    from ..app import StyleBot


@app_commands.command(
    name=pgettext("discord command", "settings"), description=described("Strength, size, colours, quality")
)
async def settings_command(interaction: discord.Interaction[Any]) -> None:
    """/settings: your settings, with the controls to change them."""
    svc, t = services(interaction), translator_of(interaction)
    owner = await svc.stored(interaction.user.id)
    current = await svc.preferences.get(owner)
    view = settings_view(owner, current, svc.settings, t)
    await tell(interaction, settings_text(current, svc.settings, t), view=view)


def setup(client: StyleBot) -> None:
    """Register /settings and its controls (they answer after a restart too)."""
    client.tree.add_command(settings_command)
    client.add_dynamic_items(SettingSelect, SettingToggle)
