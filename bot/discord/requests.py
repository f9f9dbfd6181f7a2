"""Turning a Discord request into a job: where its messages go (`Outlet`: the channel, an interaction's response, or
a DM when the bot can't post in the channel), the status message, the instant sketch, the queue's limits."""

from __future__ import annotations

import io
import logging
from typing import Any

import discord

from jobs.models import JobParams, JobStatus, LimitReached, NewJob

from ..core.captions import queued_text
from ..core.i18n import N_, Translator, translator
from ..core.identity import Requester
from ..core.limits import job_limits, limit_refusal
from ..core.params import job_params
from ..core.requests import SKETCH_ALONE_CAPTION, Refused, posted, sketch_alone, sketch_input, thumbnail
from .cancel import status_view
from .identity import GUILD, PRIVATE, chat_id
from .services import DiscordServices
from .text import markdown

log = logging.getLogger(__name__)

# TRANSLATORS: channel is a link to a server channel, e.g. #general.
MOVED_TO_DM = N_(
    "I can't post pictures in {channel} (I need the Send Messages and Attach Files permissions there), so I'm "
    "painting this one for you in our direct messages."
)
NO_DM = N_(
    "I can't post pictures in this channel, and I can't send you a direct message either. Please ask a "
    "moderator to let me post here, or use me in our direct messages."
)


def can_post(permissions: discord.Permissions) -> bool:
    """Whether the bot may post a picture: Send Messages and Attach Files."""
    return permissions.send_messages and permissions.attach_files


def reference(channel_id: int, message_id: int | None) -> discord.MessageReference | None:
    """A reply to a message that is still sent when that message was deleted meanwhile."""
    if message_id is None:
        return None
    return discord.MessageReference(message_id=message_id, channel_id=channel_id, fail_if_not_exists=False)


def jpeg(data: bytes, name: str) -> discord.File:
    return discord.File(io.BytesIO(data), filename=name)


class Outlet:
    """Where a request's messages go: its chat (`chat_id`, stored) and `channel`; the status message and answers
    reply to `reply_to` (None: the status message is the request). When the channel refuses the bot (403), the
    outlet moves to the user's DMs, says so there, and the job's chat is the DM channel."""

    def __init__(
        self,
        svc: DiscordServices,
        user: discord.User | discord.Member,
        channel: discord.abc.Messageable,
        *,
        chat: int,
        chat_type: str,
        reply_to: int | None,
        language: str = "",
    ) -> None:
        self.svc, self.user, self.channel = svc, user, channel
        self.chat_id, self.chat_type, self.reply_to = chat, chat_type, reply_to
        self.t: Translator = translator(language)
        self.moved = False

    @property
    def channel_id(self) -> int:
        return int(getattr(self.channel, "id", 0))

    async def move_to_dm(self, notice: bool = True) -> None:
        """Go on in the user's DMs (telling them why there, unless they were told already)."""
        if self.moved:
            return
        where = f"<#{self.channel_id}>" if self.channel_id else "#?"
        dm = await self.user.create_dm()
        if notice:
            await dm.send(markdown(self.t(MOVED_TO_DM, channel=where)))
        self.channel, self.moved = dm, True
        self.chat_id, self.chat_type, self.reply_to = await chat_id(self.svc, dm.id), PRIVATE, None

    async def send(
        self, content: str, *, file: discord.File | None = None, view: discord.ui.View | None = None
    ) -> discord.Message:
        """Post in the chat, replying to `reply_to`; in the DMs when the channel refuses."""
        try:
            return await self._send(content, file, view)
        except discord.Forbidden:
            if self.moved:
                raise
            await self.move_to_dm()
            if file is not None:
                file.reset()
            return await self._send(content, file, view)

    async def _send(self, content: str, file: discord.File | None, view: discord.ui.View | None) -> discord.Message:
        extra: dict[str, Any] = {}
        if file is not None:
            extra["file"] = file
        if view is not None:
            extra["view"] = view
        ref = reference(self.channel_id, self.reply_to)
        if ref is not None:
            extra.update(reference=ref, mention_author=False)
        return await self.channel.send(content, **extra)

    async def post(self, content: str, file: discord.File) -> discord.Message:
        """The request's first public message (its status message, or a sketch-only answer)."""
        return await self.send(content, file=file)

    async def say(self, text: str) -> None:
        """A short answer (the core's HTML) to the user."""
        await self.send(markdown(text))


class InteractionOutlet(Outlet):
    """A request made by an interaction: its public response (the deferred original one, or else a follow-up) is
    the status message; the sketch is posted in the channel, replying to it."""

    def __init__(self, svc: DiscordServices, interaction: discord.Interaction[Any], chat: int, *, original: bool):
        channel = interaction.channel
        assert isinstance(channel, discord.abc.Messageable)
        super().__init__(
            svc,
            interaction.user,
            channel,
            chat=chat,
            chat_type=PRIVATE if interaction.guild_id is None else GUILD,
            reply_to=None,
            language=interaction.locale.value,
        )
        self.interaction, self.original = interaction, original
        self.thinking = False  # the original response is a public "thinking…" that becomes the status message

    async def leave_channel(self) -> None:
        """Go on in the user's DMs (the bot can't post here), telling them so privately."""
        where = f"<#{self.channel_id}>"
        await self.move_to_dm(notice=False)
        await self.interaction.followup.send(markdown(self.t(MOVED_TO_DM, channel=where)), ephemeral=True)

    async def post(self, content: str, file: discord.File) -> discord.Message:
        if self.moved:
            return await super().post(content, file)
        if self.original:
            self.thinking = False
            return await self.interaction.edit_original_response(content=content, attachments=[file])
        return await self.interaction.followup.send(content, file=file, wait=True)

    async def say(self, text: str) -> None:
        """Only the user sees it (a public "thinking…" response is taken away: a follow-up would complete it)."""
        if self.thinking:
            self.thinking = False
            await self.interaction.edit_original_response(content="…")
            await self.interaction.followup.send(markdown(text), ephemeral=True)
            await self.interaction.delete_original_response()
            return
        await self.interaction.followup.send(markdown(text), ephemeral=True)


async def message_outlet(svc: DiscordServices, message: discord.Message) -> Outlet:
    """Answers to a user's message: replies in its channel (in the DMs when the bot can't post there)."""
    out = Outlet(
        svc,
        message.author,
        message.channel,
        chat=await chat_id(svc, message.channel.id),
        chat_type=PRIVATE if message.guild is None else GUILD,
        reply_to=message.id,
    )
    if message.guild is not None and isinstance(message.channel, discord.abc.GuildChannel):
        if not can_post(message.channel.permissions_for(message.guild.me)):
            await out.move_to_dm()
    return out


async def sketch_first(svc: DiscordServices, out: Outlet, job: NewJob, reply_message_id: int) -> None:
    """The instant sketch of the job's photo in its (first) style, replying to the request, before the job is
    queued (unless it takes longer than its head start: bot.core.sketches)."""
    if svc.sketches is None:
        return

    async def load() -> tuple[bytes, bytes]:
        return await sketch_input(svc, job.content_key), await sketch_input(svc, job.style_keys[0])

    async def send(data: bytes) -> None:
        caption = out.t.gettext("✏️ A quick sketch while I paint your picture.")
        ref = reference(out.channel_id, reply_message_id)
        assert ref is not None
        await out.channel.send(markdown(caption), file=jpeg(data, "sketch.jpg"), reference=ref, mention_author=False)

    await svc.sketches.start(load, send, request=f"{job.chat_id}:{reply_message_id}")


async def submit(
    svc: DiscordServices,
    out: Outlet,
    *,
    user: Requester,
    content: str,
    styles: tuple[str, ...],
    style_name: str,
    request_message_id: int | None = None,
    params: JobParams | None = None,
) -> int | None:
    """Post the status message, send the sketch, enqueue the job and put Cancel under its status; the job id (None:
    a sketch alone was sent, as the user's settings ask, or the request was already taken). The job is recorded
    under `request_message_id` (the user's message), else under its status message. Refused when a limit holds.
    A repaint of a job (`params` given: a variation, another style, a redo) is always painted, with those params."""
    if params is None:
        preferences = await svc.preferences.get(user.id)
        if preferences.sketch_only and svc.sketches is not None:
            await sketch_only(svc, out, user, content, styles)
            return None
        params = job_params(preferences, svc.settings)
    if request_message_id is not None and await svc.jobs.recorded(out.chat_id, request_message_id):
        return None  # a re-delivered message
    thumb = await thumbnail(svc, content)
    status = await out.post(markdown(queued_text(None, style_name, user.language)), jpeg(thumb, "photo.jpg"))
    job = NewJob(
        chat_id=out.chat_id,
        user_id=user.id,
        message_id=request_message_id if request_message_id is not None else status.id,
        content_key=content,
        style_keys=styles,
        params=params,
        style_name=style_name,
        user_name=user.name,
        language=user.language,
        chat_type=out.chat_type,
        reply_to_message_id=out.reply_to or status.id,
    )
    await sketch_first(svc, out, job, out.reply_to or status.id)
    try:
        result = await svc.jobs.enqueue(job, job_limits(svc.settings, user.id))
    except LimitReached as exc:  # requests sent at once got past the early check: this one is turned away
        await status.delete()
        raise Refused(limit_refusal(exc)) from exc
    text = markdown(queued_text(result.position, style_name, user.language))
    posted(svc, result.job_id, text)
    await svc.jobs.set_status_message(result.job_id, status.id)  # before Cancel shows: it checks this
    await status.edit(content=text, view=status_view(result.job_id, translator(user.language)))
    posted(svc, result.job_id, text)  # again: the delivery loop's next edit keeps its distance from this one
    return result.job_id


async def repaint(
    svc: DiscordServices,
    interaction: discord.Interaction[Any],
    job: JobStatus,
    *,
    styles: tuple[str, ...],
    style_name: str,
    params: JobParams,
    reply_to: int,
) -> int | None:
    """A new job of `job`'s requester from its photo, in the channel where they tapped: its status message replies to
    `reply_to` (the result, or the request); in the requester's DMs when the bot can't post there."""
    channel = interaction.channel
    assert isinstance(channel, discord.abc.Messageable) and job.content_key is not None
    out = Outlet(
        svc, interaction.user, channel, chat=job.chat_id, chat_type=job.chat_type, reply_to=reply_to,
        language=job.language,
    )
    user = Requester(id=job.user_id, name=job.user_name, language=job.language)
    return await submit(
        svc, out, user=user, content=job.content_key, styles=styles, style_name=style_name, params=params
    )


async def sketch_only(
    svc: DiscordServices, out: Outlet, user: Requester, content: str, styles: tuple[str, ...]
) -> None:
    """Answer with the instant sketch alone (bot.core.requests.sketch_alone)."""
    data = await sketch_alone(svc, user.id, content, styles)
    caption = translator(user.language)(SKETCH_ALONE_CAPTION)
    await out.post(markdown(caption), jpeg(data, "sketch.jpg"))
