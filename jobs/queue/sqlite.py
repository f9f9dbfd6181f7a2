"""The queue on SQLite: the `jobs` table is the queue, and a worker claims its next job with one UPDATE.

- Order: the first waiting job by (turn, id) whose user has no job running (`sql.NEXT_TURN` gives fair turns).
- Ownership: the claiming worker holds a lease on the row, renewed by the job's progress beat
  (`WorkerQueueBase.heartbeat`); the next claim first re-queues (or fails, after its last attempt) every running
  job whose lease ran out.
- The bot has nothing to tell anyone else when it enqueues or cancels (`TableDispatch`); a running job's worker
  hears a cancel on its next progress beat.
Its worker loop is `worker.loops.sqlite`.
"""

from __future__ import annotations

import time

from jobs import sql
from jobs.database import Transaction, statement
from jobs.models import ClaimedJob
from jobs.queue.worker_side import WorkerQueueBase, claimed
from settings import Settings

# Every running job whose lease ran out.
EXPIRE_LEASES = sql.LOST_WORKER + "WHERE state = 'running' AND lease_expires_at < :now"

# Take the first queued job in (turn, id) order whose user has none running.
CLAIM = (
    sql.START_JOB
    + """
WHERE id = (
    SELECT q.id FROM jobs q
    WHERE q.state = 'queued'
      AND (q.not_before IS NULL OR q.not_before <= :now)
      AND NOT (:one_per_user AND EXISTS (
          SELECT 1 FROM jobs r WHERE r.user_id = q.user_id AND r.state = 'running'))
    ORDER BY q.turn, q.id
    LIMIT 1
)
"""
    + f"RETURNING {sql.STARTED_COLUMNS}"
)


class TableDispatch:
    """The bot's `Dispatch` on SQLite: the `jobs` table is the queue, so there is nothing else to tell."""

    async def enqueued(self, tx: Transaction, job_id: int, user_id: int, turn: int) -> int | None:
        return None

    async def cancelled(self, tx: Transaction, queue_job_id: int | None) -> None:
        return None

    async def close(self) -> None:
        return None


async def open_dispatch(settings: Settings) -> TableDispatch:
    return TableDispatch()


class SqliteWorkerQueue(WorkerQueueBase):
    """`WorkerQueue` on SQLite, with `claim`: the queue itself."""

    def __init__(self, settings: Settings, *, one_per_user: bool = True) -> None:
        super().__init__(settings)
        self.one_per_user = one_per_user

    def claim(self, worker_id: str) -> ClaimedJob | None:
        """Atomically take the next job, after re-queueing the jobs whose worker stopped renewing its lease."""
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(statement(EXPIRE_LEASES), self.lost_params(now))
            params = {**self.start_params(worker_id, now), "one_per_user": self.one_per_user}
            row = conn.execute(statement(CLAIM), params).mappings().first()
        return claimed(row) if row else None


def worker_queue(settings: Settings) -> SqliteWorkerQueue:
    return SqliteWorkerQueue(settings)
