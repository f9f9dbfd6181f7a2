"""/forget: a confirmation only the user sees, then everything of theirs is deleted (bot.core.account)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from ...core.account import FORGET_QUESTION, forget_user
from ...core.i18n import Translator
from ..identity import presets_chat, translator_of
from ..locale import described, pgettext
from ..replies import tell
from ..services import services
from ..text import markdown

if TYPE_CHECKING:
    from ..app import StyleBot

FORGET_TEMPLATE = r"sb:forget:(?P<owner>[0-9]{1,20}):(?P<choice>yes|no)"


class ForgetButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=FORGET_TEMPLATE):
    """Yes or No under a /forget question; only the user who asked (their stored id is in the custom_id) may
    answer."""

    def __init__(self, owner: int, choice: str, label: str = "") -> None:
        style = discord.ButtonStyle.danger if choice == "yes" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(label=label or choice, style=style, custom_id=f"sb:forget:{owner}:{choice}")
        )
        self.owner, self.choice = owner, choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ForgetButton:
        return cls(int(match["owner"]), match["choice"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        svc, t = services(interaction), translator_of(interaction)
        if self.owner != await svc.stored(interaction.user.id):
            await tell(interaction, t.gettext("Only the person who sent /forget can answer."))
            return
        if self.choice != "yes":
            await interaction.response.edit_message(content=markdown(t.gettext("OK, nothing was deleted.")), view=None)
            return
        await interaction.response.edit_message(content=markdown(t.gettext("Deleting…")), view=None)
        dm = interaction.user.dm_channel or await interaction.user.create_dm()
        done = await forget_user(svc, self.owner, await presets_chat(svc, None, dm.id), t)
        await tell(interaction, done)


def forget_view(owner: int, t: Translator) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(owner, "yes", t.gettext("Yes, delete everything")))
    view.add_item(ForgetButton(owner, "no", t.gettext("No")))
    return view


@app_commands.command(
    name=pgettext("discord command", "forget"), description=described("Delete your pictures and history")
)
async def forget_command(interaction: discord.Interaction[Any]) -> None:
    """/forget: ask (only you see it) whether to delete all your pictures, history, settings and DM styles."""
    svc, t = services(interaction), translator_of(interaction)
    owner = await svc.stored(interaction.user.id)
    await tell(interaction, t(FORGET_QUESTION), view=forget_view(owner, t))


def setup(client: StyleBot) -> None:
    """Register /forget and its buttons (they answer after a restart too)."""
    client.tree.add_command(forget_command)
    client.add_dynamic_items(ForgetButton)
