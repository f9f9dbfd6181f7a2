"""The Discord delivery loop: sends each finished Discord job's outcome exactly once, and keeps status messages
current.

One `Delivery` runs from setup_hook to close (nothing else sends results), as two tasks, each a round every
`delivery_poll_s`: `outcomes` (the finished, undelivered jobs: each sent on its own, retried after a growing
pause on an error) and `statuses` (the active jobs' status messages, edited when their text would change, paced
per message). discord.py's own rate limiter waits out every 429."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from presence import BOT, Heartbeat

from ...core.delivery import LOGGER
from .outcomes import Outcomes
from .statuses import StatusEdits

if TYPE_CHECKING:
    from ..app import StyleBot

__all__ = ["Delivery"]

log = logging.getLogger(LOGGER)


class Delivery:
    """Delivers finished Discord jobs, and edits their status messages while they wait and paint."""

    def __init__(self, client: StyleBot) -> None:
        self.client = client
        self._svc = client.svc
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.statuses = StatusEdits(client)
        self.outcomes = Outcomes(client, self._stopping, self.statuses)
        # For `stylebot health`: touched after every good round of results (the same file as Telegram's loop: one
        # process, one bot).
        self._liveness = Heartbeat(client.svc.settings.data_dir, BOT)

    def start(self) -> None:
        self._svc.on_status_posted = self.statuses.note
        self._tasks = [
            asyncio.create_task(
                self._loop(self.outcomes.round, "results", beat=True), name="stylebot-discord-results"
            ),
            asyncio.create_task(self._loop(self._status_round, "status"), name="stylebot-discord-status"),
        ]

    async def stop(self, grace_s: float = 15.0) -> None:
        """Finish the deliveries under way (so no result is half-sent), then stop."""
        if not self._tasks:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._drain()), grace_s)
        except TimeoutError:
            left = [*self._tasks, *self.outcomes.in_flight(), *self.statuses.in_flight()]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
        self._tasks = []
        if self._svc.on_status_posted == self.statuses.note:
            self._svc.on_status_posted = None
        self._liveness.remove()

    async def _drain(self) -> None:
        await asyncio.gather(*self._tasks)
        await asyncio.gather(self.outcomes.settle(), self.statuses.settle())

    async def _status_round(self) -> None:
        await self.statuses.round(set(self.outcomes.delivering))

    async def _loop(self, one_round: Callable[[], Awaitable[None]], name: str, *, beat: bool = False) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await one_round()
            except Exception:
                log.exception("discord delivery: %s round failed", name)
            else:
                if beat:
                    self._liveness.beat()
            pause = max(0.0, started + self._svc.tuning.delivery_poll_s - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)

    async def tick(self) -> None:
        """One round of each, waited for: deliver the finished jobs, then refresh the status messages."""
        await self.outcomes.round()
        await self.outcomes.settle()
        await self._status_round()
        await self.statuses.settle()
