"""The queue on Postgres: procrastinate holds the work items; the `jobs` table keeps what the bot shows.

How it differs from SQLite (`jobs.queue.sqlite`): the order, the one-job-per-user rule and the wake-up of idle
workers are procrastinate's; a worker `start`s the job procrastinate handed it; ownership is procrastinate's
worker heartbeat, not the row's lease. Its worker loop is `worker.loops.postgres`.

Each job is deferred as one procrastinate job of task `stylebot.paint(job_id=…)`, in the same transaction
that records the request, with
- lock `user:<id>`: procrastinate runs jobs of one lock one at a time, in order (one running job per user);
- priority `-turn`: everyone's first waiting job before anyone's second (see `jobs.sql.NEXT_TURN`).
`/cancel` is procrastinate's cancel (a waiting job) or abort (a running one; the worker hears it at once
through LISTEN/NOTIFY). A worker that dies stops its procrastinate heartbeat; `recover_stalled`, run
periodically by every worker, finds its jobs with procrastinate's stalled-job query and retries them; the same
loop keeps the planner's statistics of procrastinate's job table fresh (`refresh_statistics`).
"""

from __future__ import annotations

import asyncio
import logging
import time

from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Status
from psycopg.rows import tuple_row

from jobs import sql
from jobs.database import Transaction, libpq_url
from jobs.models import JobState
from jobs.queue.worker_side import WorkerQueueBase
from settings import Settings

log = logging.getLogger(__name__)

PAINT_TASK = "stylebot.paint"
PAINT_QUEUE = "paint"

# procrastinate picks the next job with a query whose plan rests on the job table's statistics. A queue that grows
# from empty to thousands faster than autovacuum looks (once a minute) is planned as if nearly empty, and every
# fetch then reads every waiting job: 26 ms a fetch with 2,000 waiting instead of 0.14 ms (EXPLAIN ANALYZE), and a
# quarter of the workers' throughput. So the workers analyze the table themselves once it changed by half.
ANALYZE_AFTER_CHANGES = 200
STATISTICS_STALE = """
SELECT n_mod_since_analyze >= greatest(%(floor)s, n_live_tup / 2)
FROM pg_stat_user_tables WHERE relid = 'procrastinate_jobs'::regclass
"""
ANALYZE_LOCK = 0x5354594C  # pg_try_advisory_xact_lock key: one worker analyzes at a time


def make_app(database_url: str, *, pool_size: int = 4) -> App:
    """A procrastinate App on the database (open it with `async with app.open_async():`)."""
    connector = PsycopgConnector(
        conninfo=libpq_url(database_url),
        min_size=1,
        max_size=pool_size,  # procrastinate's pool checks each connection, so one lost to a restart is replaced
    )
    return App(connector=connector)


def user_lock(user_id: int) -> str:
    return f"user:{user_id}"


# One job whose worker procrastinate found stalled, taken only once that worker also stopped renewing the job's
# lease: procrastinate's heartbeat is a side task that a database outage stops (and that a restarted procrastinate
# worker replaces with a new worker id), while the job's own lease tells whether the painting is still going on.
EXPIRE_JOB = sql.LOST_WORKER + "WHERE id = :id AND state = 'running' AND lease_expires_at < :now RETURNING state"


class ProcrastinateDispatch:
    """The bot's `Dispatch` on Postgres: defer and cancel procrastinate jobs in the request's transaction."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def close(self) -> None:
        await self.app.close_async()

    async def enqueued(self, tx: Transaction, job_id: int, user_id: int, turn: int) -> int | None:
        """Defer the paint job inside the request's transaction; returns procrastinate's job id."""
        deferrer = self.app.configure_task(
            PAINT_TASK,
            lock=user_lock(user_id),
            priority=-turn,
            queue=PAINT_QUEUE,
            connection=await tx.driver_connection(),
        )
        queue_job_id: int = await deferrer.defer_async(job_id=job_id)
        return queue_job_id

    async def cancelled(self, tx: Transaction, queue_job_id: int | None) -> None:
        """Cancel a waiting job, or ask the worker running it to stop (it is told through NOTIFY)."""
        if queue_job_id is not None:
            await self.app.job_manager.cancel_job_by_id_async(
                queue_job_id, abort=True, connection=await tx.driver_connection()
            )


async def open_dispatch(settings: Settings) -> ProcrastinateDispatch:
    app = make_app(settings.database, pool_size=2)
    await app.open_async()
    return ProcrastinateDispatch(app)


class PostgresWorkerQueue(WorkerQueueBase):
    """`WorkerQueue` on Postgres: a worker `start`s the job procrastinate handed it; `expire` settles the job of
    a worker that stalled."""

    def expire(self, job_id: int) -> JobState | None:
        """The job's worker is gone: queue it again, fail it after its last attempt, or cancel it if asked to.

        Returns the job's state afterwards (None if it no longer exists); RUNNING while its worker still renews
        its lease.
        """
        rows = self.db.write_returning(EXPIRE_JOB, {**self.lost_params(time.time()), "id": job_id})
        if rows:
            return JobState(rows[0]["state"])
        row = self.db.fetchone(sql.JOB_STATE, {"id": job_id})
        return JobState(row["state"]) if row else None

    def requeued(self, job_id: int, queue_job_id: int) -> None:
        """The job waits under a new procrastinate job (what /cancel then cancels)."""
        self.db.execute(sql.SET_QUEUE_JOB_ID, {"id": job_id, "queue_job_id": queue_job_id})


def worker_queue(settings: Settings) -> PostgresWorkerQueue:
    return PostgresWorkerQueue(settings)


async def recover_stalled(app: App, queue: PostgresWorkerQueue, stalled_after_s: float) -> list[int]:
    """Retry (or close) the paint jobs of workers that are gone; returns their job ids.

    A job is taken when procrastinate's heartbeat of its worker stopped and `queue.expire` finds its lease ran out
    too; `expire` settles the `jobs` row (queued again, failed after its last attempt, or cancelled). A job queued
    again waits under a new procrastinate job: the old one is deleted, so the late end of a worker that was only
    slow (procrastinate deletes the job it ran, whatever its state) can't take it from the queue.
    """
    recovered: list[int] = []
    for queue_job in await app.job_manager.get_stalled_jobs(
        task_name=PAINT_TASK, seconds_since_heartbeat=stalled_after_s
    ):
        job_id = int(str(queue_job.task_kwargs["job_id"]))
        state = await asyncio.to_thread(queue.expire, job_id)
        assert queue_job.id is not None
        if state == JobState.RUNNING:
            continue  # its worker still paints it
        if state == JobState.QUEUED:
            deferrer = app.configure_task(PAINT_TASK, lock=queue_job.lock, priority=queue_job.priority,
                                          queue=PAINT_QUEUE)
            queue_job_id: int = await deferrer.defer_async(job_id=job_id)
            await asyncio.to_thread(queue.requeued, job_id, queue_job_id)
            await app.job_manager.finish_job_by_id_async(queue_job.id, status=Status.FAILED, delete_job=True)
        else:
            status = Status.FAILED if state == JobState.FAILED else Status.SUCCEEDED
            await app.job_manager.finish_job_by_id_async(queue_job.id, status=status, delete_job=False)
        log.warning("job %d: its worker stopped answering; now %s", job_id, state.value if state else "gone")
        recovered.append(job_id)
    return recovered


async def check_database(app: App) -> None:
    """Raise unless the database answers."""
    await app.connector.execute_query_async("SELECT 1")


async def refresh_statistics(app: App) -> bool:
    """Analyze procrastinate's job table if it changed a lot since it last was; True when it did."""
    connector = app.connector
    assert isinstance(connector, PsycopgConnector)
    async with connector.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(STATISTICS_STALE, {"floor": ANALYZE_AFTER_CHANGES})
        stale = await cur.fetchone()
        if not (stale and stale[0]):
            return False
        await cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (ANALYZE_LOCK,))
        locked = await cur.fetchone()
        if not (locked and locked[0]):
            return False  # another worker is at it
        await cur.execute("ANALYZE procrastinate_jobs")
    log.debug("analyzed procrastinate_jobs")
    return True
