"""Keeping Discord status messages current: each active job's status message is edited (PATCH on the channel's
message, which outlives the 15-minute interaction token) when its text would change, at most once every
max(MIN_EDIT_INTERVAL_S, status_interval_s), now and then with the painting so far attached."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from jobs.identities import Platform
from jobs.models import JobStatus
from presence import STALE_AFTER_S

from ...core.captions import status_text
from ...core.delivery import LOGGER
from ...core.i18n import translator
from ..cancel import status_view
from ..text import markdown

if TYPE_CHECKING:
    from ..app import StyleBot

log = logging.getLogger(LOGGER)

MIN_EDIT_INTERVAL_S = 3.0  # the least time between two edits of one status message (tests lower it)
EDIT_SLOTS = 5  # status edits in flight at once
PAINTERS_CHECK_S = 10.0  # how long the "is any worker alive" answer is reused
PREVIEW_NAME = "preview.jpg"


@dataclass
class Shown:
    """What a status message shows, as far as this process knows (`text`: the core's HTML)."""

    text: str
    edited_at: float
    preview_version: int = 0
    preview_at: float = -math.inf


def edit_gap(status_interval_s: float) -> float:
    return max(MIN_EDIT_INTERVAL_S, status_interval_s)


class StatusEdits:
    """The status messages of the active Discord jobs, and the edits under way."""

    def __init__(self, client: StyleBot) -> None:
        self._client = client
        self._svc = client.svc
        self.shown: dict[int, Shown] = {}
        self.editing: dict[int, asyncio.Task[None]] = {}
        self.frozen: set[int] = set()  # jobs whose status message can't be edited (deleted, no access)
        self.last_edit: dict[int, float] = {}  # when each status message was last edited (kept past the job's end)
        self._started = time.monotonic()
        self._online, self._online_at = True, -math.inf
        self.edits = 0

    def note(self, job_id: int, text: str) -> None:
        """A handler just posted this job's status message with this text: no edit before the gap."""
        self.shown[job_id] = Shown(text, time.monotonic())
        self.last_edit[job_id] = time.monotonic()

    async def pace(self, job_id: int) -> None:
        """Wait until the job's status message may be edited again (its last edit was at least the gap ago)."""
        last = self.last_edit.get(job_id)
        if last is not None:
            await asyncio.sleep(max(0.0, last + edit_gap(self._svc.settings.status_interval_s) - time.monotonic()))

    def in_flight(self) -> list[asyncio.Task[None]]:
        return list(self.editing.values())

    async def settle(self) -> None:
        await asyncio.gather(*self.in_flight(), return_exceptions=True)

    async def round(self, busy: set[int]) -> None:
        """Start an edit of every status message whose text would change and whose gap has passed (`busy`: jobs
        whose outcome is being delivered, which no status edit may touch)."""
        jobs = await self._svc.jobs.active(Platform.DISCORD)
        online = await self._painters_online(bool(jobs))
        now = time.monotonic()
        gap = edit_gap(self._svc.settings.status_interval_s)
        for job in jobs:
            if len(self.editing) >= EDIT_SLOTS:
                break
            if job.status_message_id is None or job.id in busy or job.id in self.editing or job.id in self.frozen:
                continue
            shown = self.shown.get(job.id)
            if shown is not None and now - shown.edited_at < gap:
                continue
            text = status_text(job, painters_online=online)
            preview = (
                job.preview_key is not None
                and job.preview_version > (shown.preview_version if shown else 0)
                and now - (shown.preview_at if shown else -math.inf) >= self._svc.tuning.preview_interval_s
            )
            if shown is not None and shown.text == text and not preview:
                continue
            task = asyncio.create_task(self._edit(job, text, preview), name=f"discord-status-{job.id}")
            self.editing[job.id] = task
            task.add_done_callback(functools.partial(self._edit_done, job.id))
        live = {job.id for job in jobs} | self.editing.keys()
        for job_id in [j for j in self.shown if j not in live]:
            del self.shown[job_id]
        self.frozen &= live
        for job_id in [j for j, at in self.last_edit.items() if now - at > gap and j not in live]:
            del self.last_edit[job_id]

    def _edit_done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self.editing.pop(job_id, None)

    async def _painters_online(self, any_jobs: bool) -> bool:
        """False only when no worker has beaten for a while (and the bot is not just starting up)."""
        now = time.monotonic()
        if not any_jobs or now - self._started < STALE_AFTER_S:
            return True
        if now - self._online_at >= PAINTERS_CHECK_S:
            self._online, self._online_at = await self._svc.jobs.live_workers(STALE_AFTER_S) > 0, now
        return self._online

    async def _edit(self, job: JobStatus, text: str, preview: bool) -> None:
        assert job.status_message_id is not None
        shown = self.shown.get(job.id)
        picture = await self._svc.read_picture(job.preview_key) if preview else None
        try:
            channel_id = await self._svc.discord_id(job.chat_id)
            if channel_id is None:
                self.frozen.add(job.id)
                return
            message = self._client.get_partial_messageable(channel_id).get_partial_message(job.status_message_id)
            view = status_view(job.id, translator(job.language))
            if picture is not None:
                file = discord.File(io.BytesIO(picture), filename=PREVIEW_NAME)
                await message.edit(content=markdown(text), view=view, attachments=[file])
            else:
                await message.edit(content=markdown(text), view=view)
            self.edits += 1
        except (discord.NotFound, discord.Forbidden) as exc:
            log.info("job %s: status message can't be edited (%s)", job.id, exc)
            self.frozen.add(job.id)
            return
        except Exception as exc:  # network trouble or a bug: try again after the gap
            log.warning("job %s: status update failed: %s", job.id, exc)
            if shown is not None:
                shown.edited_at = time.monotonic()
            else:
                self.shown[job.id] = Shown("", time.monotonic())
            return
        done = self.last_edit[job.id] = time.monotonic()
        version = job.preview_version if picture is not None else (shown.preview_version if shown else 0)
        preview_at = done if picture is not None else (shown.preview_at if shown else -math.inf)
        self.shown[job.id] = Shown(text, done, version, preview_at)
