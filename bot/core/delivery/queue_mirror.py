"""The queue as the delivery loop sees it, mirrored in memory instead of read whole every round.

It reads the running jobs in full (one per worker), only the queued jobs it has not seen yet (ids above the highest
read), and every `RESYNC_S` the (turn, id) of all queued jobs, read from an index, to drop the ones that vanished.
Queue positions are counted in memory in the order jobs run. Finished jobs are handed over to the results side.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterator

from jobs.models import JobStatus
from presence import STALE_AFTER_S

from .. import metrics
from ..services import Services
from .status_messages import StatusMessages

RESYNC_S = 30.0  # how often the ids of all queued jobs are read, to drop vanished ones from the mirror
LOOKBACK_S = 2.0  # new queued jobs are read again this long (Postgres may commit ids out of order)
BATCH = 2000  # queued jobs read at a time
PAINTERS_CHECK_S = 10.0  # how long the "is any worker alive" answer is reused
ENDED_TTL_S = 600.0  # how long a finished job's id is remembered (no status edit may touch it any more)


class QueueMirror:
    """The queued and running jobs in the order they run, the finished ones, and whether any painter is alive."""

    def __init__(self, svc: Services, messages: StatusMessages, on_resync: Callable[[float], None]) -> None:
        self._svc = svc
        self._messages = messages
        self._on_resync = on_resync  # called with the time after each resync, before the round's news are taken in
        self._started_at = time.monotonic()
        self.queued: dict[int, tuple[int, JobStatus]] = {}  # job id -> (turn, job)
        self.order: list[tuple[int, int]] = []  # (turn, id) of the queued jobs, sorted: the order they run in
        self.running: dict[int, JobStatus] = {}
        self._high = 0  # the highest queued job id read so far
        self._marks: deque[tuple[float, int]] = deque()  # (when, _high then): how far back to read again
        self.reload: set[int] = set()  # jobs to read again (a handler just posted their status message)
        self._limbo: dict[int, float] = {}  # jobs no longer running, not (yet) seen finished: since when
        # Finished jobs (results own them now): since when, and their request (SQLite may give a deleted job's
        # id to the next job, so a job is known by its request: chat and message).
        self._ended: dict[int, tuple[float, tuple[int, int]]] = {}
        self._loaded = False
        self._synced_at = -math.inf
        self.online = True
        self._online_at = -math.inf

    def jobs(self) -> Iterator[JobStatus]:
        """The running jobs, then the queued ones."""
        return itertools.chain(self.running.values(), (job for _, job in self.queued.values()))

    def live(self) -> set[int]:
        """The jobs whose status messages may still change (or be read again)."""
        return self.queued.keys() | self.running.keys() | self._limbo.keys() | self.reload

    async def refresh(self) -> None:
        """Read what changed since the last round."""
        queue = self._svc.jobs
        now = time.monotonic()
        keys = await queue.queued_keys() if self._loaded and now - self._synced_at >= RESYNC_S else None
        after = self._read_from(now)
        reload, self.reload = self.reload, set()
        if reload:
            after = min(after, min(reload) - 1)
        fresh: list[tuple[int, JobStatus]] = []
        while True:
            batch = await queue.queued_after(after, BATCH)
            fresh.extend(batch)
            if len(batch) < BATCH:
                break
            after = batch[-1][1].id
        running = await queue.running_jobs()

        if keys is not None:
            await self._resync(keys, now, {job.id for _, job in fresh})
        for turn, job in fresh:
            self._put_queued(turn, job)
            self._high = max(self._high, job.id)
        self._marks.append((now, self._high))
        if not self._loaded:
            self._loaded, self._synced_at = True, now
        current: dict[int, JobStatus] = {}
        for job in running:
            if not self.is_ended(job):
                self._drop_queued(job.id)
                self._limbo.pop(job.id, None)
                self._messages.adopt(job)
                current[job.id] = job
        for job_id in self.running.keys() - current.keys():
            self._limbo.setdefault(job_id, now)
        self.running = current
        await self._settle_limbo(now)

        metrics.set_queue(self.jobs())
        if self.running or self.queued:
            if now - self._online_at >= PAINTERS_CHECK_S:
                self.online, self._online_at = await self._painters_online(), now
        else:
            self.online, self._online_at = True, -math.inf

    def _read_from(self, now: float) -> int:
        """Read queued jobs above the highest id seen LOOKBACK_S ago (one that committed late is not missed)."""
        while len(self._marks) > 1 and self._marks[1][0] <= now - LOOKBACK_S:
            self._marks.popleft()
        return self._marks[0][1] if self._marks else 0

    def _put_queued(self, turn: int, job: JobStatus) -> None:
        if self.is_ended(job):
            return
        known = self.queued.get(job.id)
        if known is not None and _request(known[1]) != _request(job):  # a deleted job's id, given to a new one
            self._drop_queued(job.id)
            self._messages.shown.pop(job.id, None)
            self._messages.frozen.discard(job.id)
            known = None
        if known is None:
            bisect.insort(self.order, (turn, job.id))
            self._messages.adopt(job)
        elif known[0] != turn:
            self._drop_queued(job.id)
            bisect.insort(self.order, (turn, job.id))
        self.queued[job.id] = (turn, job)
        self.running.pop(job.id, None)
        self._limbo.pop(job.id, None)

    def _drop_queued(self, job_id: int) -> None:
        known = self.queued.pop(job_id, None)
        if known is not None:
            index = bisect.bisect_left(self.order, (known[0], job_id))
            if index < len(self.order) and self.order[index] == (known[0], job_id):
                del self.order[index]

    async def _settle_limbo(self, now: float) -> None:
        """Jobs that stopped running and were not seen finished: queued again (a worker was lost), or gone."""
        due = [job_id for job_id, since in self._limbo.items() if now - since >= self._limbo_s()]
        for job_id in due:
            self._limbo.pop(job_id, None)
            if job_id not in self._ended:
                await self._read_one(job_id)

    def _limbo_s(self) -> float:
        return max(1.0, 2 * self._svc.tuning.delivery_poll_s)

    async def _read_one(self, job_id: int) -> None:
        found = await self._svc.jobs.queued_after(job_id - 1, 1)
        if found and found[0][1].id == job_id:
            self._put_queued(*found[0])

    async def _resync(self, keys: list[tuple[int, int]], now: float, fresh: set[int]) -> None:
        """Drop queued jobs that are not queued any more (deleted by /forget); read the ones missed (committed
        late, or queued again after their worker was lost); `fresh`: those this round read anyway."""
        self._synced_at = now
        waiting = {job_id for _, job_id in keys}
        for job_id in [job_id for job_id in self.queued if job_id not in waiting]:
            self._drop_queued(job_id)
        missed = [
            job_id for _, job_id in keys if job_id not in self.queued and job_id <= self._high and job_id not in fresh
        ]
        if len(missed) > 20:
            self.reload.update(missed)  # the next round reads from the lowest of them on
        else:
            for job_id in missed:
                await self._read_one(job_id)
        for job_id in [j for j, (at, _) in self._ended.items() if now - at > ENDED_TTL_S]:
            del self._ended[job_id]
        self._on_resync(now)

    async def _painters_online(self) -> bool:
        """False only when no worker has beaten for a while (and the bot is not just starting up)."""
        if time.monotonic() - self._started_at < STALE_AFTER_S:
            return True
        return await self._svc.jobs.live_workers(STALE_AFTER_S) > 0

    def end(self, job: JobStatus, now: float) -> None:
        """The job finished: the results side owns it now, so no status edit may touch it any more."""
        if self.is_ended(job):
            return
        self._ended[job.id] = (now, _request(job))
        self._drop_queued(job.id)
        self.running.pop(job.id, None)
        self._limbo.pop(job.id, None)
        self._messages.shown.pop(job.id, None)

    def is_ended(self, job: JobStatus) -> bool:
        ended = self._ended.get(job.id)
        return ended is not None and ended[1] == _request(job)


def _request(job: JobStatus) -> tuple[int, int]:
    """What tells two jobs apart for good: their request (chat, message) is unique."""
    return job.chat_id, job.message_id
