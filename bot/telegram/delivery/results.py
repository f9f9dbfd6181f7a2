"""Delivering finished jobs: each outcome sent exactly once, one job after another within a chat.

Every job is delivered on its own: an error while delivering it (Telegram's or any other) is logged and retried
after a growing pause, and never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from telegram import Message
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from jobs.identities import Platform
from jobs.models import JobState, JobStatus

from ...core import metrics
from ...core.captions import final_status_text, result_caption, result_filename
from ...core.delivery import LOGGER
from ...core.delivery.pacing import GROUP_PER_MIN, OVERALL_PER_S
from ...core.delivery.turns import ChatTurns
from ..keyboards import offers_timelapse, result_keyboard
from ..requests import reply_to
from .shared import Part, Shared

log = logging.getLogger(LOGGER)  # one logger for the delivery loop: its lines keep the name "bot.delivery"

RESULT_SLOTS = 4  # results being sent at once (different chats)
MAX_PENDING_RESULTS = 64  # deliveries started and not finished; more wait for the next round
_Sent = tuple[int | None, str | None, str]  # what a delivery record keeps: message id, file id, caption
RETRY_MAX_S = 300.0  # the longest pause before delivering a job that failed to deliver is tried again


class Results(Part):
    """Sends the outcome of every finished job not delivered yet, a few chats at a time."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self.delivering: dict[int, asyncio.Task[None]] = {}
        self.waiting: set[int] = set()  # started deliveries that have not called Telegram yet
        self._retry: dict[int, tuple[float, int]] = {}  # job -> (not before, failures so far)
        # Outcomes sent whose record could not be written (e.g. the database was unavailable): a retry records
        # them without sending again.
        self._unrecorded: dict[int, _Sent] = {}
        self._chat_turns = ChatTurns()
        self._slots = asyncio.Semaphore(RESULT_SLOTS)

    def in_flight(self) -> list[asyncio.Task[None]]:
        """The deliveries under way."""
        return list(self.delivering.values())

    async def settle(self) -> None:
        """Wait for the deliveries under way."""
        await asyncio.gather(*self.in_flight())

    def held(self) -> set[int]:
        """The jobs being delivered, or waiting to be tried again."""
        return self.delivering.keys() | self._retry.keys()

    def forget_retries(self, now: float) -> None:
        """Forget the failures of jobs that have been due to be tried again for over RETRY_MAX_S."""
        for job_id in [j for j, (at, _) in self._retry.items() if now - at > RETRY_MAX_S]:
            del self._retry[job_id]

    async def round(self) -> None:
        """Start delivering every finished job not delivered yet (each in its own task)."""
        finished = await self._shared.svc.jobs.undelivered(Platform.TELEGRAM)
        self._shared.stats.result_rounds += 1
        now = time.monotonic()
        for job in finished:
            self._shared.mirror.end(job, now)
        for job in finished:
            if self._shared.stopping.is_set() or len(self.delivering) >= MAX_PENDING_RESULTS:
                break
            retry = self._retry.get(job.id)
            if job.id in self.delivering or (retry is not None and retry[0] > now):
                continue
            self.delivering[job.id] = asyncio.create_task(self._deliver_one(job), name=f"deliver-{job.id}")

    async def _deliver_one(self, job: JobStatus) -> None:
        try:
            async with self._chat_turns.turn(job.chat_id):
                # From here until its first call, status edits wait for this result (not before: a chat's other
                # deliveries may be held up by the chat's own limit, and must not hold up edits in other chats).
                self.waiting.add(job.id)
                editing = self._shared.messages.editing.get(job.id)
                if editing is not None:  # a status edit already on its way lands before the outcome
                    await asyncio.wait({editing})
                async with self._slots:
                    if self._shared.stopping.is_set():
                        return
                    await self.deliver(job)
            self._retry.pop(job.id, None)
            self._shared.stats.delivered += 1
        except Exception as exc:
            self._shared.stats.delivery_errors += 1
            failures = self._retry.get(job.id, (0.0, 0))[1] + 1
            pause = min(RETRY_MAX_S, self._shared.svc.tuning.delivery_poll_s * 2 ** (failures - 1))
            self._retry[job.id] = (time.monotonic() + pause, failures)
            if isinstance(exc, TelegramError):  # network trouble or flood control: try again
                log.warning("job %s: delivery failed, will retry in %.1f s: %s", job.id, pause, exc)
            else:
                log.exception("job %s: delivery failed, will retry in %.1f s", job.id, pause)
        finally:
            self.waiting.discard(job.id)
            self.delivering.pop(job.id, None)

    async def _result_call(self, job: JobStatus) -> None:
        """Wait until a call for this result fits this loop's own budget, and count it."""
        self.waiting.discard(job.id)
        while True:
            now = time.monotonic()
            wait = self._shared.calls.wait_s(job.chat_id, now, OVERALL_PER_S, GROUP_PER_MIN)
            if wait <= 0:
                self._shared.calls.note(job.chat_id, now)
                return
            await asyncio.sleep(wait)

    async def deliver(self, job: JobStatus) -> None:
        """Send the job's outcome unless it was sent before (a restart between send and mark, or a record that
        could not be written), then record and mark it."""
        chat_state, queue = self._shared.svc.chat_state, self._shared.svc.jobs
        sent = "earlier"  # sent by a previous run of the bot that stopped before marking it
        unrecorded = self._unrecorded.get(job.id)
        if unrecorded is not None:  # sent by this process, the record failed: record it now, send nothing
            await chat_state.record_delivery(job.id, job.chat_id, job.user_id, *unrecorded)
            del self._unrecorded[job.id]
        elif await chat_state.delivery(job.id) is None:
            message: Message | None
            try:
                result = await self._shared.svc.read_picture(job.result_key) if job.state == JobState.DONE else None
                if result is not None:
                    message, file_id, caption = await self._send_result(job, result)
                    sent = "photo" if message.photo else "document"
                else:
                    message, file_id, caption = await self._send_final_status(job), None, ""
                    sent = "status"
            except (Forbidden, BadRequest) as exc:
                # The chat is gone or refuses us: retrying can't help, and the job must not block the loop.
                log.warning("job %s: outcome could not be delivered: %s", job.id, exc)
                message, file_id, caption = None, None, ""
                sent = "none"
            self._unrecorded[job.id] = (message.id if message else None, file_id, caption)
            await chat_state.record_delivery(job.id, job.chat_id, job.user_id, *self._unrecorded[job.id])
            del self._unrecorded[job.id]
        first = await queue.mark_delivered(job.id)
        self._shared.messages.shown.pop(job.id, None)
        if first:
            queued_s, run_s = metrics.observe_delivered(job)
            log.info(
                "job_delivered job=%d state=%s code=%s attempts=%d queued_s=%.2f run_s=%.2f engine_s=%.2f sent=%s",
                job.id,
                job.state.value,
                job.error_code or "-",
                job.attempts,
                queued_s,
                run_s,
                job.seconds,
                sent,
            )

    async def _send_result(self, job: JobStatus, data: bytes) -> tuple[Message, str | None, str]:
        caption = result_caption(job)
        await self._result_call(job)
        await self._shared.bot.send_chat_action(job.chat_id, ChatAction.UPLOAD_PHOTO)
        target = reply_to(job.reply_to_message_id or job.message_id)
        try:
            await self._result_call(job)
            message = await self._shared.bot.send_photo(
                job.chat_id,
                photo=data,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_parameters=target,
                reply_markup=result_keyboard(job, has_timelapse=await offers_timelapse(self._shared.svc.storage, job)),
            )
            file_id = message.photo[-1].file_id if message.photo else None
        except BadRequest as exc:  # e.g. dimensions Telegram won't take as a photo: send the file instead
            log.info("job %s: sending the result as a file (%s)", job.id, exc)
            await self._result_call(job)
            message = await self._shared.bot.send_document(
                job.chat_id,
                document=data,
                filename=result_filename(job),
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_parameters=target,
            )
            file_id = None
        if job.status_message_id is not None:
            try:
                await self._result_call(job)
                await self._shared.bot.delete_message(job.chat_id, job.status_message_id)
            except TelegramError as exc:
                log.debug("job %s: status message not deleted: %s", job.id, exc)
        return message, file_id, caption

    async def _send_final_status(self, job: JobStatus) -> Message | None:
        text = final_status_text(job)
        if job.state == JobState.DONE:  # done, but the result file is missing
            text = final_status_text(_as_failed(job))
        if job.status_message_id is not None and job.id not in self._shared.messages.frozen:
            try:
                await self._result_call(job)
                edited = await self._shared.bot.edit_message_caption(
                    chat_id=job.chat_id,
                    message_id=job.status_message_id,
                    caption=text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=None,
                )
                return edited if isinstance(edited, Message) else None
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return None
                log.info("job %s: final status posted anew (%s)", job.id, exc)
        await self._result_call(job)
        return await self._shared.bot.send_message(
            job.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_parameters=reply_to(job.reply_to_message_id or job.message_id),
        )


def _as_failed(job: JobStatus) -> JobStatus:
    return replace(job, state=JobState.FAILED, error_code="internal")
