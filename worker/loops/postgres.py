"""The worker loop on Postgres (`jobs.queue.postgres`): procrastinate's worker fetches the jobs; `paint` runs each
through `JobRunner`.

procrastinate provides the waiting (LISTEN/NOTIFY, so a new job starts at once), the per-user lock, the
priorities, the abort of a running job (`/cancel`), and a heartbeat per worker. This module adds:
- the time limit and progress (JobRunner, as on SQLite);
- SIGTERM: the running job may finish within the grace period, else it is handed back (`Released`, which
  the task's retry strategy turns into procrastinate's retry: the job waits for the next worker);
- a periodic `recover_stalled` pass: jobs of workers whose procrastinate heartbeat stopped are retried (and
  the job table analyzed when it changed a lot);
- a restart of procrastinate's worker when it stops on a database error (e.g. Postgres restarting), with the
  engine kept loaded.
"""

from __future__ import annotations

import asyncio
import logging
import time

from procrastinate import App, BaseRetryStrategy, JobContext, RetryDecision
from procrastinate.exceptions import JobAborted
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job
from procrastinate.worker import Worker

from jobs.queue.postgres import (
    PAINT_QUEUE,
    PAINT_TASK,
    PostgresWorkerQueue,
    check_database,
    make_app,
    recover_stalled,
    refresh_statistics,
)
from worker.context import ShutdownClock, WorkerContext
from worker.runner import Delayed, Released, RunEnd, StopReason

log = logging.getLogger("stylebot.worker")

RESTART_DELAY_S = 2.0
STOP_POLL_S = 0.2


def run(context: WorkerContext, *, poll_interval: float, max_jobs: int | None) -> int:
    """Run procrastinate's worker until the stop event; returns the jobs run (LISTEN/NOTIFY wakes it: no
    polling interval)."""
    return asyncio.run(_run(context, max_jobs))


def _queue(context: WorkerContext) -> PostgresWorkerQueue:
    queue = context.queue
    assert isinstance(queue, PostgresWorkerQueue)
    return queue


class BackInLine(BaseRetryStrategy):
    """procrastinate's retry for a job this worker handed back: at once (shutdown) or after its delay."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, Released):
            return RetryDecision(retry_in={"seconds": 0})
        if isinstance(exception, Delayed):
            return RetryDecision(retry_in={"seconds": int(exception.seconds)})
        if isinstance(exception, Exception):  # it came before the job started (the database failed `start`)
            return RetryDecision(retry_in={"seconds": int(RESTART_DELAY_S)})
        return None


def register_paint_task(app: App, context: WorkerContext, max_jobs: int | None, done: list[int]) -> None:
    """The `stylebot.paint(job_id)` task: a blocking function, run by procrastinate in a thread."""
    shutdown = ShutdownClock(context.stop_event, context.settings.shutdown_grace_s)

    @app.task(name=PAINT_TASK, queue=PAINT_QUEUE, pass_context=True, retry=BackInLine())
    def paint(job_context: JobContext, job_id: int) -> str:
        job = _queue(context).start(job_id, context.worker_id)
        if job is None:
            return "not waiting any more"  # cancelled (or settled) before it reached this worker

        def abort_reason() -> StopReason | None:
            reason = job_context.abort_reason()
            if reason == AbortReason.USER_REQUEST:
                return StopReason.CANCELLED
            if reason == AbortReason.SHUTDOWN:
                return StopReason.SHUTDOWN
            return shutdown.reason()

        context.presence.job_id = job.id
        try:
            ended = context.run_job(job, abort_reason).run()
        finally:
            context.presence.job_id = None
            done.append(job_id)
            if max_jobs is not None and len(done) >= max_jobs:
                context.stop_event.set()
            context.warm.when_idle(waiting=lambda: _waiting(context))
        if ended == RunEnd.CANCELLED and job_context.should_abort():
            raise JobAborted(f"job {job_id} cancelled")
        return ended.value


def _waiting(context: WorkerContext) -> int:
    try:
        return context.queue.waiting()
    except Exception:
        return 1  # unknown: don't start anything now


async def _run(context: WorkerContext, max_jobs: int | None) -> int:
    settings = context.settings
    await asyncio.to_thread(context.warm.when_idle, lambda: _waiting(context))
    app = make_app(settings.database, pool_size=4)
    done: list[int] = []
    register_paint_task(app, context, max_jobs, done)
    async with app.open_async():
        reaper = asyncio.create_task(_recover_stalled_forever(app, context), name="recover-stalled")
        try:
            while not context.stop_event.is_set():
                worker = Worker(
                    app,
                    queues=[PAINT_QUEUE],
                    name=context.worker_id,
                    concurrency=1,  # one painting at a time: the engine holds the whole GPU
                    fetch_job_polling_interval=2.0,  # a fallback: LISTEN/NOTIFY wakes the worker at once
                    abort_job_polling_interval=1.0,
                    listen_notify=True,
                    delete_jobs="always",  # the jobs table keeps the record; procrastinate keeps only live work
                    install_signal_handlers=False,  # SIGTERM sets the stop event (worker.main)
                    update_heartbeat_interval=max(0.5, settings.lease_s / 5),
                    stalled_worker_timeout=settings.lease_s,
                )
                if await _run_until_stopped(worker, context):
                    break
                log.warning("worker=%s: the queue connection failed; restarting in %.0f s", context.worker_id,
                            RESTART_DELAY_S)
                await asyncio.sleep(RESTART_DELAY_S)
        finally:
            reaper.cancel()
            await asyncio.gather(reaper, return_exceptions=True)
    return len(done)


async def _run_until_stopped(worker: Worker, context: WorkerContext) -> bool:
    """Run procrastinate's worker; True when it stopped because we asked, False otherwise (to be restarted)."""
    run = asyncio.create_task(worker.run(), name="procrastinate-worker")  # type: ignore[no-untyped-call]
    while not run.done():
        if context.stop_event.is_set():
            worker.stop()  # type: ignore[no-untyped-call]  # no new job; the running one finishes or goes back
            break
        await asyncio.wait({run}, timeout=STOP_POLL_S)
    try:
        await run
    except Exception:
        log.warning("worker=%s: procrastinate's worker stopped", context.worker_id, exc_info=True)
        return context.stop_event.is_set()
    # procrastinate also stops its worker, without an error, when one of its side tasks (heartbeat, listener)
    # failed on the database: that is no reason for `stylebot worker` to end.
    return context.stop_event.is_set()


async def _recover_stalled_forever(app: App, context: WorkerContext) -> None:
    """Every few seconds, retry the jobs of workers that stopped answering (any machine's); keep the job table's
    statistics fresh.

    Only after the database has answered, quickly and without a break, for a lease: an outage silences every
    worker's heartbeats at once, so right after one (or at this worker's start) every worker looks stalled until it
    has beaten again. A pass that waits on the database (its pool blocks through a short outage rather than failing)
    counts as a break, or it would come back with the outage's stale heartbeats and take jobs from healthy workers.
    """
    lease_s = context.settings.lease_s
    interval = max(1.0, lease_s / 3)
    answering_since: float | None = None
    while True:
        started = time.monotonic()
        try:
            async with asyncio.timeout(interval):
                if answering_since is not None and started - answering_since >= lease_s:
                    await recover_stalled(app, _queue(context), lease_s)
                else:
                    await check_database(app)
            if answering_since is None:
                answering_since = time.monotonic()
        except Exception:
            answering_since = None
            log.warning("recovering stalled jobs failed; will try again", exc_info=True)
        try:
            await refresh_statistics(app)
        except Exception:  # the database user may not own the table: the queue still works, only slower
            log.debug("could not analyze procrastinate_jobs", exc_info=True)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
