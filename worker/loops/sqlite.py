"""The worker loop on SQLite: claim the next job from the `jobs` table (`jobs.queue.sqlite`), run it, repeat."""

from __future__ import annotations

import logging

from jobs.queue.sqlite import SqliteWorkerQueue
from worker.context import ShutdownClock, WorkerContext
from worker.runner import Delayed, Released

log = logging.getLogger("stylebot.worker")


def run(context: WorkerContext, *, poll_interval: float, max_jobs: int | None) -> int:
    """Claim, run, repeat until the stop event; returns the jobs run."""
    queue = context.queue
    assert isinstance(queue, SqliteWorkerQueue)
    done = 0
    stop_event = context.stop_event
    while not stop_event.is_set() and (max_jobs is None or done < max_jobs):
        try:
            job = queue.claim(context.worker_id)
        except Exception:
            log.warning("worker=%s could not claim a job; retrying", context.worker_id, exc_info=True)
            stop_event.wait(max(poll_interval, 1.0))
            continue
        if job is None:
            context.warm.when_idle(waiting=lambda: 0)
            stop_event.wait(poll_interval)
            continue
        context.presence.job_id = job.id
        try:
            context.run_job(job, ShutdownClock(stop_event, context.settings.shutdown_grace_s).reason).run()
        except (Released, Delayed):
            pass  # already back in the queue
        finally:
            context.presence.job_id = None
        done += 1
    return done
