"""The delivery loop: sends each finished job's outcome exactly once, and keeps status messages current.

One `Delivery` runs from post_init to post_stop (nothing else sends results), as two tasks:

- **results**: every `delivery_poll_s` it reads the finished, undelivered jobs (one indexed read) and sends each
  outcome at once, a few chats at a time and one job after another within a chat. Every job is delivered on its
  own: an error while delivering it (Telegram's or any other) is logged and retried after a growing pause, and
  never holds up the others.
- **statuses**: it mirrors the queue instead of reading all of it every round: the running jobs in full (one per
  worker), only the queued jobs it has not seen yet (ids above the highest read), and every `RESYNC_S` the
  (turn, id) of all queued jobs, read from an index, to drop the ones that vanished. Queue positions are counted
  in memory in the order jobs run. A status message is edited only when its text would change, most out of date
  first: running jobs, then waiting jobs by how far their shown position is off (beyond the first
  `EXACT_POSITIONS` a position is refreshed once it is `STALE_RATIO` off), at most one edit per chat every
  `status_interval_s`.

Telegram allows about 30 messages a second overall and 20 a minute in a group, and the bot's AIORateLimiter holds
every call to that. On top of it this loop keeps count of the calls it made, so that status edits never take the
room results need: edits are started one at a time between rounds, none while a result is about to go out, and only
while this loop made fewer than `EDITS_PER_S` calls in the last second (`GROUP_EDITS` in a group's last minute);
results may use up to `OVERALL_PER_S` and `GROUP_PER_MIN`.

The parts: `results` (the results task), `queue_mirror` and `status_edits` (the statuses task), `status_messages`
(what each status message shows, kept across a clean restart), `pacing` (the limits and the call log), `stats`;
`queue_mirror`, `status_messages`, `pacing` and `stats` need no chat library and are in bot.core.delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Bot

from jobs.models import JobStatus
from presence import BOT, Heartbeat

from ...core.delivery import LOGGER
from ...core.delivery.pacing import CallLog
from ...core.delivery.queue_mirror import QueueMirror
from ...core.delivery.stats import DeliveryStats
from ...core.delivery.status_messages import SHOWN_FILE, Shown, StatusMessages
from ...core.services import Services
from .results import Results
from .shared import Shared
from .status_edits import StatusEdits

__all__ = ["Delivery", "DeliveryStats"]

log = logging.getLogger(LOGGER)  # "bot.delivery", as its parts in bot.core.delivery


class Delivery:
    """Delivers finished jobs first (within a poll interval), and edits status messages within a budget."""

    def __init__(self, bot: Bot, svc: Services):
        self._svc = svc
        self.stats = DeliveryStats()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._liveness = Heartbeat(svc.settings.data_dir, BOT)  # for `stylebot health`: touched every good round
        self._calls = CallLog()
        self._messages = StatusMessages(Path(svc.settings.data_dir) / SHOWN_FILE)
        self._mirror = QueueMirror(svc, self._messages, on_resync=self._forget)
        shared = Shared(bot, svc, self.stats, self._stopping, self._calls, self._mirror, self._messages)
        self._results = Results(shared)
        self._statuses = StatusEdits(shared, self._results)

    def start(self) -> None:
        self._messages.load()
        self._tasks = [
            asyncio.create_task(self._loop(self._results.round, "results", beat=True), name="stylebot-results"),
            asyncio.create_task(
                self._loop(self._statuses.round, "status", self._statuses.send_planned), name="stylebot-status"
            ),
        ]

    async def stop(self, grace_s: float = 15.0) -> None:
        """Finish the deliveries under way (so no result is half-sent), then stop."""
        if not self._tasks:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._drain()), grace_s)
        except TimeoutError:
            left = [*self._tasks, *self._results.in_flight(), *self._messages.in_flight()]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
        self._tasks = []
        self._messages.save(self._mirror.jobs())
        self._liveness.remove()

    async def _drain(self) -> None:
        await asyncio.gather(*self._tasks)
        await asyncio.gather(self._results.settle(), self._messages.settle())

    async def _loop(
        self,
        one_round: Callable[[], Awaitable[None]],
        name: str,
        between: Callable[[float], Awaitable[None]] | None = None,
        *,
        beat: bool = False,
    ) -> None:
        """Run a round every `delivery_poll_s`; in between, wait (or run `between` until the next round)."""
        while not self._stopping.is_set():
            try:
                await one_round()
            except Exception:
                log.exception("delivery: %s round failed", name)
            else:
                if beat:
                    self._liveness.beat()
            until = time.monotonic() + self._svc.tuning.delivery_poll_s
            if between is not None:
                await between(until)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), max(0.0, until - time.monotonic()))

    async def tick(self) -> None:
        """One round of each, unpaced, waited for: deliver the finished jobs, then refresh the status messages."""
        await self._results.round()
        await self._results.settle()
        await self._statuses.round()
        await self._statuses.send_all_planned()

    def note_status(self, job_id: int, text: str) -> None:
        """A handler posted this job's status message with this text (saves a needless edit); read it in."""
        self._messages.shown[job_id] = Shown(text, edited_at=time.monotonic(), checked=False)
        self._mirror.reload.add(job_id)

    async def deliver(self, job: JobStatus) -> None:
        """Send the job's outcome unless it was sent before (a restart between send and mark), then mark it."""
        await self._results.deliver(job)

    def _forget(self, now: float) -> None:
        """After each resync of the queue: forget what no live job needs any more."""
        live = self._mirror.live()
        self._messages.forget_gone(live, self._results.held())
        self._statuses.forget_idle_chats(now)
        self._results.forget_retries(now)
        self._calls.sweep(now)
