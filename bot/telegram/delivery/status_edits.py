"""Keeping status messages current: which to edit each round (most out of date first), and the edits themselves,
started between rounds within what results leave of the rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, replace

from telegram import InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from jobs.identities import Platform, platform_of
from jobs.models import JobStatus

from ...core.captions import status_text
from ...core.delivery import LOGGER
from ...core.delivery.pacing import EDITS_PER_S, GROUP_EDITS
from ...core.delivery.status_messages import Shown
from ..keyboards import cancel_keyboard
from .results import Results
from .shared import Part, Shared

log = logging.getLogger(LOGGER)  # one logger for the delivery loop: its lines keep the name "bot.delivery"

EXACT_POSITIONS = 10  # waiting jobs this close to the front see every change of their position
STALE_RATIO = 1.05  # further back, a shown position is refreshed once it is 5 % off
UNKNOWN_STALENESS = 1.5  # how out of date a status counts whose text this process does not know
WARNING_STALENESS = 2.0  # ... and one that lacks (or still shows) the "no painter is running" warning
EDIT_SLOTS = EDITS_PER_S  # status edits in flight at once


@dataclass(frozen=True)
class Edit:
    job: JobStatus
    text: str
    position: int | None
    online: bool
    preview: bool


class StatusEdits(Part):
    """Plans the status edits that are due after each read of the queue, and starts them, paced, until the next."""

    def __init__(self, shared: Shared, results: Results) -> None:
        super().__init__(shared)
        self._results = results
        self._chat_edited: dict[int, float] = {}
        self.planned: deque[Edit] = deque()  # the edits to start before the next round, most urgent first

    async def round(self) -> None:
        """Read what changed since the last round, and plan the status edits that are due (`send_planned`)."""
        self._shared.stats.status_rounds += 1
        await self._shared.mirror.refresh()
        limit = max(1, math.ceil(EDITS_PER_S * self._shared.svc.tuning.delivery_poll_s))
        self.planned = deque(self._plan(time.monotonic(), limit))

    async def send_all_planned(self) -> None:
        """Start every planned edit now, without pacing, and wait for the edits under way."""
        while self.planned:
            edit = self.planned.popleft()
            if self.editable(edit.job):
                self.start_edit(edit, time.monotonic())
        await self._shared.messages.settle()

    def forget_idle_chats(self, now: float) -> None:
        """Forget when chats were last edited once that no longer holds up their next edit."""
        gap = self._chat_gap(-1)
        for chat_id in [c for c, at in self._chat_edited.items() if now - at > gap]:
            del self._chat_edited[chat_id]

    def _chat_gap(self, chat_id: int) -> float:
        """Least seconds between two status edits in a chat (a group's 20 a minute are shared with results)."""
        interval = self._shared.svc.settings.status_interval_s
        return interval if chat_id > 0 else max(interval, 60.0 / GROUP_EDITS)

    def _chat_ready(self, chat_id: int, now: float) -> bool:
        if now - self._chat_edited.get(chat_id, -math.inf) < self._chat_gap(chat_id):
            return False
        return chat_id > 0 or self._shared.calls.in_group(chat_id, now) < GROUP_EDITS

    async def send_planned(self, until: float) -> None:
        """Until the next round: start the planned edits in their order, one every 1/EDITS_PER_S s at most, and
        only while results are not waiting and the budget left to status edits allows."""
        while self.planned and not self._shared.stopping.is_set():
            now = time.monotonic()
            if now >= until:
                break
            if (
                self._results.waiting
                or self._shared.calls.overall(now) >= EDITS_PER_S
                or len(self._shared.messages.editing) >= EDIT_SLOTS
            ):
                pause = 1.0 / EDITS_PER_S  # results go first
            else:
                edit = self.planned.popleft()
                if not self.editable(edit.job) or not self._chat_ready(edit.job.chat_id, now):
                    continue  # it finished, or results used the chat's room meanwhile
                self.start_edit(edit, now)
                pause = 1.0 / EDITS_PER_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._shared.stopping.wait(), min(pause, until - now))
        self.planned.clear()  # what is left is planned again from fresher data

    def start_edit(self, edit: Edit, now: float) -> None:
        job = edit.job
        self._shared.calls.note(job.chat_id, now)
        self._chat_edited[job.chat_id] = now
        task = asyncio.create_task(self._edit(edit), name=f"status-{job.id}")
        self._shared.messages.editing[job.id] = task
        task.add_done_callback(functools.partial(self._edit_done, job.id))

    def _edit_done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._shared.messages.editing.pop(job_id, None)

    def editable(self, job: JobStatus) -> bool:
        return (
            job.status_message_id is not None
            and platform_of(job.chat_id) == Platform.TELEGRAM  # the queue is shared; its messages are not
            and job.id not in self._shared.messages.frozen
            and job.id not in self._shared.messages.editing
            and not self._shared.mirror.is_ended(job)
        )

    def _plan(self, now: float, room: int) -> list[Edit]:
        interval = self._shared.svc.settings.status_interval_s
        online = self._shared.mirror.online
        chats: set[int] = set()
        plan: list[Edit] = []

        def take(job: JobStatus, text: str, position: int | None, preview: bool) -> None:
            shown = self._shared.messages.shown.get(job.id)
            if not preview and shown is not None and shown.text == text:  # the same text: nothing to edit
                shown.position, shown.online = position, online
                return
            plan.append(Edit(job, text, position, online, preview))
            chats.add(job.chat_id)

        def free(job: JobStatus) -> bool:
            shown = self._shared.messages.shown.get(job.id)
            return (
                self.editable(job)
                and (shown is None or now - shown.edited_at >= interval)
                and job.chat_id not in chats
                and self._chat_ready(job.chat_id, now)
            )

        # Running jobs first, the longest unedited first: their progress is what people watch.
        for job in sorted(self._shared.mirror.running.values(), key=lambda j: self._edited_at(j.id)):
            if len(plan) >= room:
                return plan
            if not free(job):
                continue
            shown = self._shared.messages.shown.get(job.id)
            preview = (
                job.preview_key is not None
                and job.preview_version > (shown.preview_version if shown else 0)
                and now - (shown.preview_at if shown else -math.inf) >= self._shared.svc.tuning.preview_interval_s
            )
            take(job, status_text(job, painters_online=online), None, preview)

        # Then waiting jobs, by how far their shown position is off (the front of the queue first on ties).
        scored: list[tuple[float, int, int]] = []
        for index, (_, job_id) in enumerate(self._shared.mirror.order):
            job = self._shared.mirror.queued[job_id][1]
            if job.status_message_id is None:
                continue
            staleness = self._staleness(job, index + 1, online)
            if staleness > 0:
                scored.append((staleness, -index, job_id))
        scored.sort(reverse=True)
        for _, neg_index, job_id in scored:
            if len(plan) >= room:
                break
            job = self._shared.mirror.queued[job_id][1]
            if free(job):
                position = -neg_index + 1
                take(job, status_text(replace(job, position=position), painters_online=online), position, False)
        return plan

    def _edited_at(self, job_id: int) -> float:
        shown = self._shared.messages.shown.get(job_id)
        return shown.edited_at if shown else -math.inf

    def _staleness(self, job: JobStatus, position: int, online: bool) -> float:
        """How out of date the job's status message is (0: up to date, or close enough not to edit it)."""
        shown = self._shared.messages.shown.get(job.id)
        if shown is None:
            return UNKNOWN_STALENESS
        if not shown.checked:  # posted by a handler: see which position its text shows
            shown.checked = True
            if status_text(replace(job, position=position), painters_online=online) == shown.text:
                shown.position, shown.online = position, online
                return 0.0
        if shown.position is None:
            return UNKNOWN_STALENESS
        if shown.online != online:
            return WARNING_STALENESS
        if shown.position == position:
            return 0.0
        ratio = max(position, shown.position) / max(1, min(position, shown.position))
        if position > EXACT_POSITIONS and ratio < STALE_RATIO:
            return 0.0
        return ratio

    async def _edit(self, edit: Edit) -> None:
        job = edit.job
        shown = self._shared.messages.shown.get(job.id)
        now = time.monotonic()
        new = Shown(
            edit.text,
            edit.position,
            edit.online,
            shown.preview_version if shown else 0,
            now,
            shown.preview_at if shown else -math.inf,
        )
        try:
            preview = await self._shared.svc.read_picture(job.preview_key) if edit.preview else None
            if self._shared.mirror.is_ended(job):
                return
            if preview is None and shown is not None and shown.text == edit.text:
                new.edited_at = shown.edited_at
            elif preview is not None:
                await self._shared.bot.edit_message_media(
                    media=InputMediaPhoto(preview, caption=edit.text, parse_mode=ParseMode.HTML),
                    chat_id=job.chat_id,
                    message_id=job.status_message_id,
                    reply_markup=cancel_keyboard(job.language),
                )
                new.preview_version, new.preview_at = job.preview_version, now
                self._shared.stats.edits += 1
            else:
                await self._shared.bot.edit_message_caption(
                    chat_id=job.chat_id,
                    message_id=job.status_message_id,
                    caption=edit.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=cancel_keyboard(job.language),
                )
                self._shared.stats.edits += 1
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("job %s: status message can't be edited (%s)", job.id, exc)
                self._shared.messages.frozen.add(job.id)
        except Exception as exc:  # network trouble, flood control or a bug: try again after the interval
            self._shared.stats.edit_errors += 1
            if isinstance(exc, TelegramError):
                log.warning("job %s: status update failed: %s", job.id, exc)
            else:
                log.exception("job %s: status update failed", job.id)
            if not self._shared.mirror.is_ended(job):
                if shown is None:
                    self._shared.messages.shown[job.id] = Shown("", edited_at=now)
                else:
                    shown.edited_at = now
            return
        if not self._shared.mirror.is_ended(job):
            self._shared.messages.shown[job.id] = new
