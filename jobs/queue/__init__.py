"""The queue, one module per backend (as `engine.backend` has one per Keras backend), chosen by the database.

"How does Postgres differ?" has a two-file answer: `jobs.queue.sqlite` (the `jobs` table is the queue) and
`jobs.queue.postgres` (procrastinate holds the work items). What both share, the writes a worker makes to the
job it holds, is `jobs.queue.worker_side`. The worker loops that drive them are `worker.loops.<backend>`.
"""

from __future__ import annotations

from typing import Protocol

from jobs.database import POSTGRES, SQLITE, Transaction, dialect_of
from jobs.queue.worker_side import WorkerQueueBase
from settings import Settings


class Dispatch(Protocol):
    """What enqueueing and cancelling also do outside the `jobs` table (Postgres: procrastinate's queue)."""

    async def enqueued(self, tx: Transaction, job_id: int, user_id: int, turn: int) -> int | None:
        """Hand the new job to the queue inside the request's transaction; returns the queue's id for it."""
        ...

    async def cancelled(self, tx: Transaction, queue_job_id: int | None) -> None:
        """Tell the queue the job was cancelled (inside the same transaction)."""
        ...

    async def close(self) -> None: ...


class QueueBackend(Protocol):
    """What each backend module offers."""

    async def open_dispatch(self, settings: Settings) -> Dispatch: ...

    def worker_queue(self, settings: Settings) -> WorkerQueueBase: ...


def backend_for(database_url: str) -> QueueBackend:
    """The queue module for this database."""
    dialect = dialect_of(database_url)
    if dialect == SQLITE:
        from jobs.queue import sqlite

        return sqlite
    if dialect == POSTGRES:
        from jobs.queue import postgres

        return postgres
    raise RuntimeError(f"no queue for {dialect!r}")  # dialect_of admits only the two


def open_worker_queue(settings: Settings) -> WorkerQueueBase:
    """The workers' side of the queue on the configured database."""
    return backend_for(settings.database).worker_queue(settings)
