"""The worker's side of `presence`: one thread that says this worker is alive, idle or painting."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from jobs.queue.worker_side import WorkerQueueBase
from presence import Heartbeat, worker_name

log = logging.getLogger("stylebot.worker")


class Presence:
    """Every `interval_s`: touch the heartbeat file, then record the worker (and its job) in the database.

    It beats from its own thread, whatever the engine does, so job length and queue depth don't matter. The file
    comes first and needs no database, so an outage silences only the table. `hung()` stops it for good.
    """

    def __init__(self, queue: WorkerQueueBase, worker_id: str, data_dir: Path, interval_s: float) -> None:
        self.queue = queue
        self.interval_s = interval_s
        self.worker_id = worker_id
        self.heartbeat = Heartbeat(data_dir, worker_name(worker_id))
        self.job_id: int | None = None
        self._hung = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self.heartbeat.beat()
        self._thread.start()

    def hung(self) -> None:
        """The engine is stuck: fall silent, so the watchdog (or `stylebot health`) sees a stuck worker."""
        self._hung.set()

    def stop(self) -> None:
        """A clean stop: sign off (a worker that stopped is not a stale one)."""
        self._stop.set()
        self._thread.join()
        try:
            self.queue.worker_gone(self.worker_id)
        except Exception:
            log.warning("worker=%s: could not sign off", self.worker_id, exc_info=True)
        self.heartbeat.remove()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._hung.is_set():
                continue
            self.heartbeat.beat()
            try:
                self.queue.worker_seen(self.worker_id, self.job_id)
            except Exception:
                log.debug("worker=%s: presence not recorded", self.worker_id, exc_info=True)
