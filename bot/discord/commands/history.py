"""/history (the user's recent pictures, only they see it) and its Redo buttons: the same pictures and settings
painted again, its new status message posted in the channel."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from jobs.models import ACTIVE_STATES, JobStatus

from ...core.captions import history_line
from ...core.i18n import N_, Translator
from ...core.requests import Refused, check_quota
from ..identity import chat_id, translator_of
from ..locale import described, pgettext
from ..replies import tell
from ..requests import repaint
from ..services import DiscordServices, services

if TYPE_CHECKING:
    from ..app import StyleBot

REDO_TEMPLATE = r"sb:redo:(?P<job>[0-9]{1,20})"
HISTORY_JOBS = 10
REDO_BUTTONS = 5  # one row
PICTURE_GONE = N_("I don't have that picture any more.")
ORIGINALS_GONE = N_("The original pictures are gone; please send them again.")


class RedoButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=REDO_TEMPLATE):
    """↻ Redo under /history: only the job's requester may, in the channel where it was painted."""

    def __init__(self, job_id: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or f"↻ #{job_id}", style=discord.ButtonStyle.secondary, custom_id=f"sb:redo:{job_id}"
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RedoButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        svc, t = services(interaction), translator_of(interaction)
        job = await svc.jobs.status(self.job_id)
        if job is None or job.chat_id != await chat_id(svc, interaction.channel_id or 0):
            await tell(interaction, t(PICTURE_GONE))
            return
        if job.user_id != await svc.stored(interaction.user.id):
            await tell(interaction, t.gettext("Only its owner can do that. Send your own photo!"))
            return
        if job.state in ACTIVE_STATES:
            await tell(interaction, t.gettext("I'm still painting that one."))
            return
        pictures = [job.content_key, *job.style_keys] if job.content_key is not None and job.style_keys else []
        if not pictures or not await _all_stored(svc, pictures):
            await tell(interaction, t(ORIGINALS_GONE))
            return
        async with svc.lock(job.chat_id, job.user_id):
            try:
                await check_quota(svc, job.user_id)
            except Refused as exc:
                await tell(interaction, exc.say(t))
                return
            await tell(interaction, t.gettext("On it!"))
            try:
                await repaint(
                    svc, interaction, job, styles=job.style_keys, style_name=job.style_name, params=job.params,
                    reply_to=job.reply_to_message_id or job.message_id,
                )
            except Refused as exc:  # a limit reached by requests sent at once (the insert is the authority)
                await tell(interaction, exc.say(t))


async def _all_stored(svc: DiscordServices, keys: list[str]) -> bool:
    found = await asyncio.gather(*(asyncio.to_thread(svc.storage.exists, key) for key in keys))
    return all(found)


def redo_view(jobs: list[JobStatus], t: Translator) -> discord.ui.View | None:
    if not jobs:
        return None
    view = discord.ui.View(timeout=None)
    for job in jobs:
        view.add_item(RedoButton(job.id, t.gettext("↻ Redo #{job}", job=job.id)))
    return view


@app_commands.command(name=pgettext("discord command", "history"), description=described("Your recent pictures"))
async def history_command(interaction: discord.Interaction[Any]) -> None:
    """/history: your recent pictures, with Redo buttons for this channel's (only you see it)."""
    svc, t = services(interaction), translator_of(interaction)
    jobs = await svc.jobs.history(await svc.stored(interaction.user.id), limit=HISTORY_JOBS)
    if not jobs:
        await tell(interaction, t.gettext("You haven't asked me for any pictures yet. Send a photo to start!"))
        return
    lines = [t.gettext("<b>Your recent pictures</b>"), *(history_line(j, t) for j in jobs)]
    here = await chat_id(svc, interaction.channel_id or 0)
    # A Redo paints in the channel it is tapped in, so only this channel's pictures get one.
    redoable = [j for j in jobs if j.state not in ACTIVE_STATES and j.content_key is not None and j.chat_id == here]
    view = redo_view(redoable[:REDO_BUTTONS], t)
    if view is None:
        await tell(interaction, "\n".join(lines))
    else:
        await tell(interaction, "\n".join(lines), view=view)


def setup(client: StyleBot) -> None:
    """Register /history and its Redo buttons (they answer after a restart too)."""
    client.tree.add_command(history_command)
    client.add_dynamic_items(RedoButton)
