"""What one worker process holds while it runs jobs, whichever queue backend feeds it."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from jobs.models import ClaimedJob
from jobs.queue.worker_side import WorkerQueueBase
from jobs.storage import Storage
from settings import Settings
from worker.engine_adapter import Engine
from worker.presence import Presence
from worker.runner import AbortReason, JobRunner, StopReason
from worker.warm_up import IdleWarmUp

log = logging.getLogger("stylebot.worker")

EXIT_HUNG = 3  # the exit status of a worker whose engine got stuck


class ShutdownClock:
    """After a stop was asked for, the running job may go on for `grace_s`; then it is handed back."""

    def __init__(self, stop_event: threading.Event, grace_s: float) -> None:
        self.stop_event = stop_event
        self.grace_s = grace_s
        self._seen: float | None = None

    def reason(self) -> StopReason | None:
        if not self.stop_event.is_set():
            return None
        now = time.monotonic()
        if self._seen is None:
            self._seen = now
        return StopReason.SHUTDOWN if now - self._seen >= self.grace_s else None


@dataclass
class WorkerContext:
    """Everything one worker process holds while it runs jobs: settings, queue, storage, engine, presence."""

    settings: Settings
    worker_id: str
    queue: WorkerQueueBase
    storage: Storage
    engine: Engine
    stop_event: threading.Event
    presence: Presence
    warm: IdleWarmUp
    exit_when_hung: bool = False  # a worker process of its own ends itself when its engine is stuck

    def run_job(self, job: ClaimedJob, abort_reason: AbortReason) -> JobRunner:
        """A runner for the job, with the presence telling which job this worker paints."""
        return JobRunner(
            self.queue,
            self.storage,
            self.engine,
            job,
            settings=self.settings,
            worker_id=self.worker_id,
            abort_reason=abort_reason,
            on_hung=self._hung,
        )

    def _hung(self) -> None:
        """A stuck engine thread can't be stopped: the presence falls silent, and unless a pool kills this process
        first, a worker of its own ends itself."""
        self.presence.hung()
        if self.exit_when_hung and not self.stop_event.wait(self.settings.lease_s):
            log.error("worker=%s exits: its engine is stuck (a supervisor restarts it)", self.worker_id)
            os._exit(EXIT_HUNG)
