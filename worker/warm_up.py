"""Warming a worker's engine up while it has nothing to do."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from settings import Settings
from worker.engine_adapter import Engine, common_sizes

log = logging.getLogger("stylebot.worker")


class IdleWarmUp:
    """Traces (TF) or compiles (JAX, when its disk cache is cold) the loops of the commonest sizes, in the
    background, the first time the worker has nothing to do: warming up while a job waits would only delay it
    (measured with `python -m bench.warm_start`), but the next user whose photo needs another shape then waits
    less."""

    def __init__(self, engine: Engine, settings: Settings, worker_id: str) -> None:
        self._warm_up = getattr(engine, "warm_up", None) if settings.warm_up else None
        self._sizes = common_sizes(settings.default_size)
        self._precision = settings.precision  # the loops jobs run (bench.warm_start warms the same)
        self._worker_id = worker_id
        self._started = False

    def when_idle(self, waiting: Callable[[], int]) -> None:
        """Start (once) if no job is waiting (`waiting` is asked only while the warm-up has yet to start)."""
        if self._warm_up is None or self._started or waiting() > 0:
            return
        self._started = True
        threading.Thread(target=self._run, name="warm-up", daemon=True).start()

    def _run(self) -> None:
        assert self._warm_up is not None
        try:
            done = self._warm_up(self._sizes, precision=self._precision)
        except Exception:
            log.warning("worker=%s: warming up failed; jobs compile as they come", self._worker_id, exc_info=True)
            return
        log.info("worker_warm worker=%s shapes=%d seconds=%.2f", self._worker_id, len(done.shapes), done.seconds)
