"""`stylebot worker`: one process that takes jobs from the queue and paints them with the engine.

The loop that takes the jobs is the queue backend's (`worker.loops.sqlite` or `worker.loops.postgres`). Either
way the worker loads the engine once, runs one job at a time through `JobRunner`, says it is alive through its
`Presence`, and on SIGTERM lets the running job go on for STYLEBOT_SHUTDOWN_GRACE seconds before handing it back
to the queue.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from engine.errors import EngineError
from jobs.migrate import apply_migrations
from jobs.models import JobParams
from jobs.queue import open_worker_queue
from jobs.storage import open_storage
from presence import beat_interval_s
from settings import Settings, SettingsError
from worker.context import WorkerContext
from worker.engine_adapter import EngineFactory, default_engine_factory, stylize_options
from worker.loops import loop_for
from worker.presence import Presence
from worker.warm_up import IdleWarmUp

log = logging.getLogger("stylebot.worker")

T = TypeVar("T")
FIRST_RETRY_S = 0.5  # waiting at start for the database or the storage: the first delay, doubled up to MAX_RETRY_S
MAX_RETRY_S = 15.0


def run_worker(
    settings: Settings,
    *,
    worker_id: str | None = None,
    engine_factory: EngineFactory | None = None,
    stop_event: threading.Event | None = None,
    poll_interval: float = 0.5,
    max_jobs: int | None = None,
    exit_when_hung: bool = False,
) -> int:
    """Load the engine once, then run jobs one at a time until stop_event; returns the jobs run."""
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    stop_event = stop_event or threading.Event()
    def migrate() -> bool:
        apply_migrations(settings.database, root=settings.migrations_dir)
        return True

    if not _wait_for("the database", migrate, worker_id, stop_event):
        return 0
    storage = _wait_for("the picture storage", lambda: open_storage(settings.storage), worker_id, stop_event)
    if storage is None:
        return 0
    queue = open_worker_queue(settings)
    presence = Presence(
        queue, worker_id, settings.data_dir, beat_interval_s(settings.lease_s, settings.heartbeat_s)
    )
    try:
        started = time.monotonic()
        engine = (engine_factory or default_engine_factory(settings))()
        context = WorkerContext(
            settings,
            worker_id,
            queue,
            storage,
            engine,
            stop_event,
            presence,
            IdleWarmUp(engine, settings, worker_id),
            exit_when_hung=exit_when_hung,
        )
        log.info("worker_ready worker=%s load_s=%.2f", worker_id, time.monotonic() - started)
        log.debug(
            "worker_config worker=%s database=%s storage=%r lease_s=%g time_limit_s=%g",
            worker_id, queue.db.dialect, context.storage, settings.lease_s, settings.job_time_limit_s,
        )
        presence.start()
        done = loop_for(settings.database).run(context, poll_interval=poll_interval, max_jobs=max_jobs)
        log.info("worker_stop worker=%s jobs=%d", worker_id, done)
        return done
    finally:
        if presence.running:
            presence.stop()
        queue.close()


def _wait_for(what: str, connect: Callable[[], T], worker_id: str, stop_event: threading.Event) -> T | None:
    """`connect()`, retried with a growing delay while `what` can't be reached (one log line says so); None when
    the stop event came first. A setting that can't work (ValueError) is raised at once."""
    delay = FIRST_RETRY_S
    said = False
    while True:
        try:
            result = connect()
        except ValueError:
            raise
        except Exception as exc:
            if not said:
                log.warning("worker=%s: waiting for %s (%s); retrying until it answers", worker_id, what, exc)
                said = True
            if stop_event.wait(delay):
                return None
            delay = min(MAX_RETRY_S, delay * 2)
            continue
        if said:
            log.info("worker=%s: %s answers", worker_id, what)
        return result


def main(argv: list[str] | None = None) -> int:
    """`stylebot worker`: run until SIGTERM or SIGINT (the current job finishes or goes back to the queue)."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"stylebot worker: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="stylebot worker", description=main.__doc__)
    parser.add_argument("--worker-id", help="name in the queue and the logs (default: host:pid)")
    parser.add_argument("--poll-interval", type=float, default=0.5, help="SQLite: seconds between claims when idle")
    parser.add_argument("--log-level", default=settings.log_level)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger().setLevel(args.log_level.upper())
    stop_event = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("worker_signal signal=%s: taking no more jobs", signal.Signals(signum).name)
        stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stylize_options(JobParams(max_side=settings.default_size, iterations=1), settings.precision)
    except ValueError as exc:
        print(f"stylebot worker: STYLEBOT_PRECISION={settings.precision!r}: {exc}", file=sys.stderr)
        return 2
    try:
        run_worker(
            settings,
            worker_id=args.worker_id,
            stop_event=stop_event,
            poll_interval=args.poll_interval,
            exit_when_hung=True,
        )
    except EngineError as exc:
        log.error("worker could not start the engine: %s (%s)", exc.message, exc.code)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
