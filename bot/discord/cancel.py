"""The Cancel button under a status message, and cancelling a user's jobs in a channel (/cancel)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from jobs.identities import Platform

from ..core.i18n import Translator
from .identity import chat_id, translator_of
from .replies import tell
from .services import DiscordServices, services

if TYPE_CHECKING:
    from .app import StyleBot

CANCEL_TEMPLATE = r"sb:cancel:(?P<job>[0-9]{1,20})"


class CancelButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CANCEL_TEMPLATE):
    """Cancel on a status message; the job is looked up on the server, and only its requester may cancel it."""

    def __init__(self, job_id: int, label: str = "✖ Cancel") -> None:
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, custom_id=f"sb:cancel:{job_id}")
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CancelButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        svc, t = services(interaction), translator_of(interaction)
        job = await svc.jobs.status(self.job_id)
        here = await chat_id(svc, interaction.channel_id or 0)
        message_id = interaction.message.id if interaction.message is not None else None
        if job is None or job.chat_id != here or job.status_message_id != message_id or job.outcome is not None:
            await tell(interaction, t.gettext("That picture is already finished."))
            return
        if job.user_id != await svc.stored(interaction.user.id):
            await tell(interaction, t.gettext("Only the person who asked for this picture can cancel it."))
            return
        if await svc.jobs.cancel(job.id):
            await tell(interaction, t.gettext("Cancelling…"))
        else:
            await tell(interaction, t.gettext("That picture is already finished."))


def status_view(job_id: int, t: Translator) -> discord.ui.View:
    """The buttons under a status message: Cancel."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id, t.gettext("✖ Cancel")))
    return view


async def cancel_mine(svc: DiscordServices, channel_stored: int, user_stored: int) -> int:
    """Cancel the user's queued and running jobs in this channel; how many were cancelled."""
    mine = [
        j for j in await svc.jobs.active(Platform.DISCORD) if j.user_id == user_stored and j.chat_id == channel_stored
    ]
    return sum([await svc.jobs.cancel(j.id) for j in mine])


def setup(client: StyleBot) -> None:
    """The Cancel button answers after a restart too."""
    client.add_dynamic_items(CancelButton)
