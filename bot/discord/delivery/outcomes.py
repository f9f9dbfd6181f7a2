"""Delivering finished Discord jobs: each outcome sent exactly once, as a channel message (never an interaction
follow-up, so a job that outlives the 15-minute interaction token still arrives), one job after another within a
channel. An error while delivering a job is logged and retried after a growing pause, and never holds up others."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from jobs.identities import Platform
from jobs.models import JobState, JobStatus

from ...core import metrics
from ...core.captions import final_status_text, result_caption, result_filename
from ...core.delivery import LOGGER
from ...core.delivery.turns import ChatTurns
from ...core.i18n import translator
from ..buttons import offers_timelapse, result_view
from ..identity import PRIVATE
from ..text import MAX_CONTENT, markdown
from .fit import DEFAULT_LIMIT, fitted, smaller_note, too_large
from .statuses import StatusEdits

if TYPE_CHECKING:
    from ..app import StyleBot

log = logging.getLogger(LOGGER)

RESULT_SLOTS = 4  # results being sent at once (different channels)
MAX_PENDING_RESULTS = 64  # deliveries started and not finished; more wait for the next round
RETRY_MAX_S = 300.0  # the longest pause before a job that failed to deliver is tried again
UPLOAD_TRIES = 6  # a result refused as too large is sent smaller this many times at most
Send = Callable[..., Awaitable[discord.Message]]


def result_text(job: JobStatus, requester_discord_id: int | None, *, smaller: bool = False, note: str = "") -> str:
    """The result's caption as Discord markdown; in a server it names the requester with a mention."""
    t = translator(job.language)
    lines = [markdown(result_caption(replace(job, chat_type=PRIVATE)))]
    if job.chat_type != PRIVATE and requester_discord_id is not None:
        before, _, after = t.gettext("for {user}", user="\x00").partition("\x00")
        lines.append(f"{markdown(before)}<@{requester_discord_id}>{markdown(after)}")
    if smaller:
        lines.append(markdown(smaller_note(t)))
    if note:
        lines.append(markdown(note))
    return "\n".join(lines)[:MAX_CONTENT]


async def send_picture(
    client: StyleBot, send: Send, job: JobStatus, data: bytes, limit: int, content: Callable[[bool], str], **kwargs: Any
) -> discord.Message:
    """Send the picture with `send` (a channel's, a DM's, a follow-up's), as a smaller JPEG when it is over `limit`
    or Discord refuses it as too large; `content(smaller)` makes the text."""
    for _ in range(UPLOAD_TRIES):
        upload = await fitted(client.svc, data, result_filename(job), limit)
        try:
            message: discord.Message = await send(content=content(upload.smaller), file=upload.file(), **kwargs)
            return message
        except discord.HTTPException as exc:
            if not too_large(exc):
                raise
            limit = len(upload.data) // 2
    raise RuntimeError(f"job {job.id}: the result is still too large at {limit} bytes")


class Outcomes:
    """Sends the outcome of every finished Discord job not delivered yet, a few channels at a time."""

    def __init__(self, client: StyleBot, stopping: asyncio.Event, statuses: StatusEdits) -> None:
        self._client = client
        self._svc = client.svc
        self._stopping = stopping
        self._statuses = statuses
        self.delivering: dict[int, asyncio.Task[None]] = {}
        self._retry: dict[int, tuple[float, int]] = {}  # job -> (not before, failures so far)
        self._unrecorded: dict[int, tuple[int | None, str]] = {}  # sent, but the record could not be written
        self._chat_turns = ChatTurns()
        self._slots = asyncio.Semaphore(RESULT_SLOTS)
        self.delivered = 0
        self.errors = 0

    def in_flight(self) -> list[asyncio.Task[None]]:
        return list(self.delivering.values())

    async def settle(self) -> None:
        await asyncio.gather(*self.in_flight(), return_exceptions=True)

    async def round(self) -> None:
        """Start delivering every finished Discord job not delivered yet (each in its own task)."""
        now = time.monotonic()
        for job in await self._svc.jobs.undelivered(Platform.DISCORD):
            if self._stopping.is_set() or len(self.delivering) >= MAX_PENDING_RESULTS:
                break
            retry = self._retry.get(job.id)
            if job.id in self.delivering or (retry is not None and retry[0] > now):
                continue
            self.delivering[job.id] = asyncio.create_task(self._deliver_one(job), name=f"discord-deliver-{job.id}")

    async def _deliver_one(self, job: JobStatus) -> None:
        try:
            async with self._chat_turns.turn(job.chat_id), self._slots:
                editing = self._statuses.editing.get(job.id)
                if editing is not None:  # a status edit on its way lands before the outcome
                    await asyncio.wait({editing})
                if self._stopping.is_set():
                    return
                await self.deliver(job)
            self._retry.pop(job.id, None)
            self.delivered += 1
        except Exception as exc:
            self.errors += 1
            failures = self._retry.get(job.id, (0.0, 0))[1] + 1
            pause = min(RETRY_MAX_S, self._svc.tuning.delivery_poll_s * 2 ** (failures - 1))
            self._retry[job.id] = (time.monotonic() + pause, failures)
            if isinstance(exc, discord.HTTPException):
                log.warning("job %s: delivery failed, will retry in %.1f s: %s", job.id, pause, exc)
            else:
                log.exception("job %s: delivery failed, will retry in %.1f s", job.id, pause)
        finally:
            self.delivering.pop(job.id, None)

    async def deliver(self, job: JobStatus) -> None:
        """Send the job's outcome unless it was sent before (a restart between send and mark, or a record that
        could not be written), then record and mark it."""
        chat_state = self._svc.chat_state
        sent = "earlier"
        unrecorded = self._unrecorded.get(job.id)
        if unrecorded is not None:
            await chat_state.record_delivery(job.id, job.chat_id, job.user_id, unrecorded[0], None, unrecorded[1])
            del self._unrecorded[job.id]
        elif await chat_state.delivery(job.id) is None:
            message_id, caption, sent = await self._send(job)
            self._unrecorded[job.id] = (message_id, caption)
            await chat_state.record_delivery(job.id, job.chat_id, job.user_id, message_id, None, caption)
            del self._unrecorded[job.id]
        self._statuses.shown.pop(job.id, None)
        if await self._svc.jobs.mark_delivered(job.id):
            queued_s, run_s = metrics.observe_delivered(job)
            log.info(
                "job_delivered job=%d platform=discord state=%s code=%s queued_s=%.2f run_s=%.2f sent=%s",
                job.id,
                job.state.value,
                job.error_code or "-",
                queued_s,
                run_s,
                sent,
            )

    async def _send(self, job: JobStatus) -> tuple[int | None, str, str]:
        """Send the outcome: (the message id, its caption, what was sent)."""
        channel_id = await self._svc.discord_id(job.chat_id)
        if channel_id is None:
            log.warning("job %s: its chat %s is not a Discord channel", job.id, job.chat_id)
            return None, "", "none"
        result = await self._svc.read_picture(job.result_key) if job.state == JobState.DONE else None
        if result is None:
            return await self._final_status(job, channel_id), "", "status"
        user_id = await self._svc.discord_id(job.user_id)
        channel = self._client.get_channel(channel_id) or self._client.get_partial_messageable(channel_id)
        guild = getattr(channel, "guild", None)
        limit = guild.filesize_limit if isinstance(guild, discord.Guild) else DEFAULT_LIMIT
        view = result_view(job, has_timelapse=await offers_timelapse(self._svc, job))
        send: Send = channel.send  # type: ignore[union-attr]
        message: discord.Message | None
        try:
            message = await send_picture(
                self._client,
                send,
                job,
                result,
                limit,
                lambda smaller: result_text(job, user_id, smaller=smaller),
                view=view,
                reference=self._reply_to(job, channel_id),
            )
            sent = "result"
        except (discord.Forbidden, discord.NotFound) as exc:
            log.info("job %s: the result can't be posted in channel %s (%s): sending it by DM", job.id, channel_id, exc)
            message = await self._by_dm(job, result, user_id, channel_id)
            sent = "dm" if message is not None else "none"
        await self._close_status(job, channel_id)
        if message is None:
            return None, "", sent
        return message.id, result_caption(replace(job, chat_type=PRIVATE)), sent

    @staticmethod
    def _reply_to(job: JobStatus, channel_id: int) -> discord.MessageReference:
        return discord.MessageReference(
            message_id=job.reply_to_message_id or job.message_id, channel_id=channel_id, fail_if_not_exists=False
        )

    async def _by_dm(self, job: JobStatus, data: bytes, user_id: int | None, channel_id: int) -> discord.Message | None:
        """The result in the requester's DMs, saying why (None: they can't be written to either)."""
        if user_id is None:
            return None
        t = translator(job.language)
        note = t.gettext(
            "I couldn't post this in <#{channel}> (I may not send messages or files there), so here it is.",
            channel=channel_id,
        )
        try:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            dm = await user.create_dm()
            return await send_picture(
                self._client,
                dm.send,
                job,
                data,
                DEFAULT_LIMIT,
                lambda smaller: result_text(replace(job, chat_type=PRIVATE), None, smaller=smaller, note=note),
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            log.warning("job %s: the result reached nobody: the channel and the DM both refused it (%s)", job.id, exc)
            return None

    async def _close_status(self, job: JobStatus, channel_id: int) -> None:
        """The status message shows the final text, without the Cancel button."""
        if job.status_message_id is None:
            return
        message = self._client.get_partial_messageable(channel_id).get_partial_message(job.status_message_id)
        await self._statuses.pace(job.id)
        try:
            await message.edit(content=markdown(final_status_text(job)), view=None)
        except discord.HTTPException as exc:
            log.debug("job %s: status message not closed: %s", job.id, exc)

    async def _final_status(self, job: JobStatus, channel_id: int) -> int | None:
        """A failure or cancel: the status message is edited to say so (or a new message replies to the request)."""
        if job.state == JobState.DONE:  # done, but the result file is missing
            job = replace(job, state=JobState.FAILED, error_code="internal")
        text = markdown(final_status_text(job))
        channel = self._client.get_partial_messageable(channel_id)
        if job.status_message_id is not None:
            await self._statuses.pace(job.id)
            try:
                await channel.get_partial_message(job.status_message_id).edit(content=text, view=None)
                return job.status_message_id
            except discord.NotFound:
                log.info("job %s: status message gone: the final status is posted anew", job.id)
            except discord.Forbidden as exc:
                log.warning("job %s: final status not shown: %s", job.id, exc)
                return None
        try:
            message = await channel.send(text, reference=self._reply_to(job, channel_id))
        except (discord.Forbidden, discord.NotFound) as exc:
            log.warning("job %s: final status not shown: %s", job.id, exc)
            return None
        return message.id
