"""The delivery loop: keeps status messages current and sends each finished job's outcome exactly once.

It only reads the queue (active() and undelivered() are cheap) and talks to Telegram; it runs as one
background task from post_init to post_stop, so nothing else sends results.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

from telegram import Bot, InputMediaPhoto, Message
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from jobs.models import JobState, JobStatus
from stylebot import metrics
from stylebot.health import BOT, DEFAULT_MAX_AGE_S, Heartbeat, fresh_workers

from .captions import final_status_text, result_caption, status_text
from .keyboards import cancel_keyboard, result_keyboard
from .requests import reply_to
from .services import Services

log = logging.getLogger(__name__)


@dataclass
class _Shown:
    text: str
    preview_version: int = 0
    edited_at: float = -math.inf
    preview_at: float = -math.inf


def _read(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


class Delivery:
    """Polls the queue; edits status messages at most every `status_interval_s`; delivers outcomes."""

    def __init__(self, bot: Bot, svc: Services):
        self._bot = bot
        self._svc = svc
        self._shown: dict[int, _Shown] = {}
        self._chat_edited: dict[int, float] = {}
        self._frozen: set[int] = set()  # jobs whose status message can't be edited any more
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._liveness = Heartbeat(svc.settings.data_dir, BOT)  # for `stylebot health`: touched every good round
        self._started_at = time.monotonic()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stylebot-delivery")

    async def stop(self, grace_s: float = 15.0) -> None:
        """Finish the current round (so no result is half-sent), then stop."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        self._liveness.remove()

    def note_status(self, job_id: int, text: str) -> None:
        """Record the text a status message was posted with (saves a needless first edit)."""
        self._shown[job_id] = _Shown(text, edited_at=time.monotonic())

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("delivery round failed")
            else:
                self._liveness.beat()
            try:
                await asyncio.wait_for(self._stopping.wait(), self._svc.tuning.delivery_poll_s)
            except TimeoutError:
                pass

    async def tick(self) -> None:
        """One round: deliver finished jobs first, then refresh status messages."""
        q = self._svc.q
        for job in await q.undelivered():
            if self._stopping.is_set():
                return
            try:
                await self.deliver(job)
            except TelegramError as exc:  # network trouble: the next round tries again
                log.warning("job %s: delivery failed, will retry: %s", job.id, exc)
        active = await q.active()
        metrics.set_queue(active)
        painters_online = await self._painters_online() if active else True
        for job in active:
            if self._stopping.is_set():
                return
            try:
                await self._refresh(job, painters_online)
            except TelegramError as exc:
                log.warning("job %s: status update failed: %s", job.id, exc)
        live = {job.id for job in active}
        for job_id in [j for j in self._shown if j not in live]:
            del self._shown[job_id]
        self._frozen &= live

    async def _painters_online(self) -> bool:
        """False only when no worker has beaten for a while (and the bot is not just starting up)."""
        if time.monotonic() - self._started_at < DEFAULT_MAX_AGE_S:
            return True
        return await asyncio.to_thread(fresh_workers, self._svc.settings.data_dir) > 0

    async def _refresh(self, job: JobStatus, painters_online: bool = True) -> None:
        if job.status_message_id is None or job.id in self._frozen:
            return
        now = time.monotonic()
        interval = self._svc.settings.status_interval_s
        shown = self._shown.get(job.id)
        if shown is not None and now - shown.edited_at < interval:
            return
        if now - self._chat_edited.get(job.chat_id, -math.inf) < interval:
            return  # one edit per chat per interval keeps groups under Telegram's 20 a minute
        text = status_text(job, painters_online=painters_online)
        preview = None
        if (
            job.preview_path is not None
            and job.preview_version > (shown.preview_version if shown else 0)
            and now - (shown.preview_at if shown else -math.inf) >= self._svc.tuning.preview_interval_s
        ):
            preview = await asyncio.to_thread(_read, job.preview_path)
        if preview is None and shown is not None and shown.text == text:
            return
        new = _Shown(text, shown.preview_version if shown else 0, now, shown.preview_at if shown else -math.inf)
        try:
            if preview is not None:
                await self._bot.edit_message_media(
                    media=InputMediaPhoto(preview, caption=text, parse_mode=ParseMode.HTML),
                    chat_id=job.chat_id,
                    message_id=job.status_message_id,
                    reply_markup=cancel_keyboard(),
                )
                new.preview_version, new.preview_at = job.preview_version, now
            else:
                await self._bot.edit_message_caption(
                    chat_id=job.chat_id,
                    message_id=job.status_message_id,
                    caption=text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=cancel_keyboard(),
                )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("job %s: status message can't be edited (%s)", job.id, exc)
                self._frozen.add(job.id)
        self._shown[job.id] = new
        self._chat_edited[job.chat_id] = now

    async def deliver(self, job: JobStatus) -> None:
        """Send the job's outcome unless it was sent before (a restart between send and mark), then mark it."""
        st, q = self._svc.st, self._svc.q
        sent = "earlier"  # sent by a previous run of the bot that stopped before marking it
        if await st.delivery(job.id) is None:
            try:
                if job.state == JobState.DONE and await asyncio.to_thread(_is_file, job.result_path):
                    message, file_id, caption = await self._send_result(job)
                    sent = "photo" if message.photo else "document"
                else:
                    message, file_id, caption = await self._send_final_status(job), None, ""
                    sent = "status"
            except (Forbidden, BadRequest) as exc:
                # The chat is gone or refuses us: retrying can't help, and the job must not block the loop.
                log.warning("job %s: outcome could not be delivered: %s", job.id, exc)
                message, file_id, caption = None, None, ""
                sent = "none"
            await st.record_delivery(
                job.id, job.chat_id, job.user_id, message.id if message else None, file_id, caption
            )
        first = await q.mark_delivered(job.id)
        self._shown.pop(job.id, None)
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

    async def _send_result(self, job: JobStatus) -> tuple[Message, str | None, str]:
        assert job.result_path is not None
        caption = result_caption(job)
        await self._bot.send_chat_action(job.chat_id, ChatAction.UPLOAD_PHOTO)
        data = await asyncio.to_thread(job.result_path.read_bytes)
        target = reply_to(job.reply_to_message_id or job.message_id)
        try:
            message = await self._bot.send_photo(
                job.chat_id,
                photo=data,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_parameters=target,
                reply_markup=result_keyboard(job),
            )
            file_id = message.photo[-1].file_id if message.photo else None
        except BadRequest as exc:  # e.g. dimensions Telegram won't take as a photo: send the file instead
            log.info("job %s: sending the result as a file (%s)", job.id, exc)
            message = await self._bot.send_document(
                job.chat_id,
                document=data,
                filename=f"stylebot-{job.id}{job.result_path.suffix or '.png'}",
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_parameters=target,
            )
            file_id = None
        if job.status_message_id is not None:
            try:
                await self._bot.delete_message(job.chat_id, job.status_message_id)
            except TelegramError as exc:
                log.debug("job %s: status message not deleted: %s", job.id, exc)
        return message, file_id, caption

    async def _send_final_status(self, job: JobStatus) -> Message | None:
        text = final_status_text(job)
        if job.state == JobState.DONE:  # done, but the result file is missing
            text = final_status_text(_as_failed(job))
        if job.status_message_id is not None and job.id not in self._frozen:
            try:
                edited = await self._bot.edit_message_caption(
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
        return await self._bot.send_message(
            job.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_parameters=reply_to(job.reply_to_message_id or job.message_id),
        )


def _is_file(path: Path | None) -> bool:
    return path is not None and path.is_file()


def _as_failed(job: JobStatus) -> JobStatus:
    return replace(job, state=JobState.FAILED, error_code="internal")
