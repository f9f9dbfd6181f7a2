"""What the buttons under a result do (bot.discord.buttons): the variations (painted again), Other style, Time-lapse,
Full-size file, Send to me privately and Delete. Every tap is checked on the server first: the job must be of
this channel, the tapped message its delivered result, and the tapper allowed to act."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import replace
from typing import Any

import discord

from jobs import keys
from jobs.models import FINISHED_STATES, JobParams, JobStatus

from ..core.i18n import N_, Text
from ..core.params import BIGGER, SMALLER, STRONGER, VARIATIONS, WEAKER, job_params, varied
from ..core.requests import Refused, check_quota
from .buttons import DELETE, FILE, OTHER_STYLE, PRIVATELY, TIMELAPSE, style_view
from .delivery.fit import DEFAULT_LIMIT, smaller_note
from .delivery.outcomes import result_text, send_picture
from .identity import PRIVATE, chat_id, presets_chat, translator_of
from .replies import tell
from .requests import repaint
from .services import client_of, services
from .text import markdown

FORGED = N_("That button doesn't belong to this message.")
PICTURE_GONE = N_("I don't have that picture any more.")
ORIGINALS_GONE = N_("The original pictures are gone; please send them again.")
UNRECORDED_WAIT_S = 5.0  # a result just sent may not be recorded yet: how long a tap on it waits for the record
UNRECORDED_POLL_S = 0.1
ACTIONS = {*VARIATIONS, OTHER_STYLE, FILE, TIMELAPSE, PRIVATELY, DELETE}
AT_LIMIT: dict[str, Text] = {
    STRONGER: N_("That is already the strongest style I paint."),
    WEAKER: N_("That is already the weakest style I paint."),
    BIGGER: N_("Those are already the biggest strokes I paint."),
    SMALLER: N_("Those are already the smallest strokes I paint."),
}


async def checked_job(interaction: discord.Interaction[Any], job_id: str, message_id: int) -> JobStatus | None:
    """The job whose delivered result is `message_id` in this channel (None, after an ephemeral refusal, when the
    custom_id names another job, another channel's, or nothing)."""
    svc, t = services(interaction), translator_of(interaction)
    job = await svc.jobs.status(int(job_id)) if job_id.isdigit() and len(job_id) <= 18 else None
    if job is None:
        await tell(interaction, t(PICTURE_GONE if job_id.isdigit() else FORGED))
        return None
    here = await chat_id(svc, interaction.channel_id or 0)
    if job.chat_id != here:
        await tell(interaction, t(FORGED))
        return None
    record = await svc.chat_state.delivery(job.id)
    deadline = time.monotonic() + UNRECORDED_WAIT_S
    while record is None and job.state in FINISHED_STATES and time.monotonic() < deadline:
        await defer(interaction)  # the wait may pass Discord's 3 s
        await asyncio.sleep(UNRECORDED_POLL_S)  # sent a moment ago: its record is being written
        record = await svc.chat_state.delivery(job.id)
    if record is None or record.chat_id != here or record.message_id != message_id:
        await tell(interaction, t(FORGED))
        return None
    return job


async def defer(interaction: discord.Interaction[Any]) -> None:
    """Acknowledge now (the answer, only the tapper sees it, follows)."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)


async def refuse_others(interaction: discord.Interaction[Any], job: JobStatus) -> bool:
    """Whether the tapper is not the requester (and was told so)."""
    if await services(interaction).stored(interaction.user.id) == job.user_id:
        return False
    t = translator_of(interaction)
    if job.user_name:
        await tell(interaction, t.gettext("Only {name} can do that. Send your own photo!", name=job.user_name))
    else:
        await tell(interaction, t.gettext("Only its owner can do that. Send your own photo!"))
    return True


async def on_result_button(interaction: discord.Interaction[Any], action: str, job_id: str) -> None:
    """A button under a result: checked, then routed to what it does."""
    if action not in ACTIONS or interaction.message is None:
        await tell(interaction, translator_of(interaction)(FORGED))
        return
    job = await checked_job(interaction, job_id, interaction.message.id)
    if job is None:
        return
    if action == DELETE:
        await delete_result(interaction, job)
        return
    if await refuse_others(interaction, job):
        return
    if action in VARIATIONS:
        await redo(interaction, job, action)
    elif action == OTHER_STYLE:
        await offer_other_style(interaction, job)
    elif action == FILE:
        await send_file(interaction, job)
    elif action == TIMELAPSE:
        await send_timelapse(interaction, job)
    elif action == PRIVATELY:
        await send_privately(interaction, job)


async def redo(interaction: discord.Interaction[Any], job: JobStatus, action: str) -> None:
    """Paint the result again with one thing changed (bot.core.params.varied), as the requester's new job."""
    t = translator_of(interaction)
    params = varied(job.params, action)
    if action in AT_LIMIT and params == job.params:
        await tell(interaction, t(AT_LIMIT[action]))
        return
    await defer(interaction)
    assert interaction.message is not None
    await paint_again(interaction, job, job.style_keys, job.style_name, params, interaction.message.id)


async def paint_again(
    interaction: discord.Interaction[Any],
    job: JobStatus,
    styles: tuple[str, ...],
    style_name: str,
    params: JobParams,
    result_message_id: int,
) -> None:
    """Queue a new job of the requester's, from `job`'s photo: its request is a new status message replying to
    the result (posted first, so the job is recorded under it)."""
    svc, t = services(interaction), translator_of(interaction)
    if job.content_key is None or not styles or not await _all_stored(interaction, [job.content_key, *styles]):
        await tell(interaction, t(ORIGINALS_GONE))
        return
    async with svc.lock(job.chat_id, job.user_id):
        try:
            await check_quota(svc, job.user_id)
            await repaint(
                svc, interaction, job, styles=styles, style_name=style_name, params=params, reply_to=result_message_id
            )
        except Refused as exc:  # a limit, or one reached by requests sent at once (the insert is the authority)
            await tell(interaction, exc.say(t))
            return
    await tell(interaction, t.gettext("On it!"))


async def _all_stored(interaction: discord.Interaction[Any], keys_: list[str]) -> bool:
    storage = services(interaction).storage
    return all(await asyncio.gather(*(asyncio.to_thread(storage.exists, key) for key in keys_)))


async def offer_other_style(interaction: discord.Interaction[Any], job: JobStatus) -> None:
    """The job's photo becomes its owner's waiting photo, and a select of the chat's styles opens (only they see
    it)."""
    svc, t = services(interaction), translator_of(interaction)
    assert interaction.message is not None
    content = job.content_key
    if content is None or not await asyncio.to_thread(svc.storage.exists, content):
        await tell(interaction, t(ORIGINALS_GONE))
        return
    async with svc.lock(job.chat_id, job.user_id):
        await svc.chat_state.set_pending(job.chat_id, job.user_id, content, interaction.message.id)
    presets = await svc.presets.list(await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0))
    if not presets:
        await tell(interaction, t.gettext("Send me the painting whose style this photo should get."))
        return
    view = style_view(job.id, interaction.message.id, presets, t)
    await tell(interaction, t.gettext("Pick another style for this photo:"), view=view)


async def on_style_picked(
    interaction: discord.Interaction[Any], job_id: str, message_id: str, values: list[str]
) -> None:
    """A style picked in Other style's select: the result's photo is painted in it (checked as a button is)."""
    svc, t = services(interaction), translator_of(interaction)
    job = await checked_job(interaction, job_id, int(message_id) if message_id.isdigit() else -1)
    if job is None or await refuse_others(interaction, job):
        return
    name = values[0] if values else ""
    preset = await svc.presets.get(name, await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0))
    if preset is None:
        await tell(interaction, t.gettext("I don't know a style called “{name}”. /presets shows them all.", name=name))
        return
    await defer(interaction)
    params = job_params(await svc.preferences.get(job.user_id), svc.settings)
    await paint_again(interaction, job, (preset.image_key,), preset.name, params, int(message_id))
    await svc.chat_state.mark_pending_used(job.chat_id, job.user_id)


async def send_file(interaction: discord.Interaction[Any], job: JobStatus) -> None:
    """The full picture as a file only the requester sees (a smaller JPEG when it is over the upload limit)."""
    svc, t = services(interaction), translator_of(interaction)
    data = await svc.read_picture(job.result_key)
    if data is None:
        await tell(interaction, t.gettext("The full-size file is gone (it was deleted)."))
        return
    await defer(interaction)

    def content(smaller: bool) -> str:
        size = f"{job.result_width}×{job.result_height}"
        return f"{size}\n{markdown(smaller_note(t))}" if smaller else size

    await send_picture(
        client_of(interaction),
        interaction.followup.send,
        job,
        data,
        interaction.filesize_limit,
        content,
        ephemeral=True,
    )


async def send_timelapse(interaction: discord.Interaction[Any], job: JobStatus) -> None:
    """The painting's progress as an animation, as a reply to the result."""
    svc, t = services(interaction), translator_of(interaction)
    assert interaction.message is not None
    data = await svc.read_picture(keys.timelapse_key(job.user_id, job.id))
    if data is None:
        await tell(interaction, t.gettext("There is no time-lapse of this picture any more."))
        return
    await tell(interaction, t.gettext("Sending the time-lapse…"))
    channel = client_of(interaction).get_partial_messageable(interaction.channel_id or 0)
    try:
        await channel.send(
            file=discord.File(io.BytesIO(data), f"stylebot-{job.id}-{keys.TIMELAPSE_NAME}"),
            reference=interaction.message.to_reference(fail_if_not_exists=False),
        )
    except discord.HTTPException:
        await tell(interaction, t.gettext("I can't post in this channel: I may not send messages or files here."))


async def send_privately(interaction: discord.Interaction[Any], job: JobStatus) -> None:
    """The picture in the requester's DMs with the bot."""
    svc, t = services(interaction), translator_of(interaction)
    data = await svc.read_picture(job.result_key)
    if data is None:
        await tell(interaction, t(PICTURE_GONE))
        return
    await defer(interaction)
    private = replace(job, chat_type=PRIVATE, language=interaction.locale.value)
    try:
        dm = await interaction.user.create_dm()
        await send_picture(
            client_of(interaction),
            dm.send,
            job,
            data,
            DEFAULT_LIMIT,
            lambda smaller: result_text(private, None, smaller=smaller),
        )
    except discord.Forbidden:
        await tell(
            interaction,
            t.gettext(
                "I can't send you a direct message: allow direct messages from this server's members in your "
                "privacy settings, then tap this button again."
            ),
        )
        return
    await tell(interaction, t.gettext("Sent to our private chat."))


async def delete_result(interaction: discord.Interaction[Any], job: JobStatus) -> None:
    """Delete the result message: its requester may, and so may members who may manage messages here."""
    svc, t = services(interaction), translator_of(interaction)
    mine = await svc.stored(interaction.user.id) == job.user_id
    if not mine and not interaction.permissions.manage_messages:
        if job.user_name:
            refusal = t.gettext("Only {name} or an admin of this group can delete it.", name=job.user_name)
        else:
            refusal = t.gettext("Only the person who asked for it or an admin of this group can delete it.")
        await tell(interaction, refusal)
        return
    assert interaction.message is not None
    try:
        await interaction.message.delete()
    except discord.HTTPException:
        await tell(interaction, t.gettext("I couldn't delete it."))
        return
    await tell(interaction, t.gettext("Deleted."))
