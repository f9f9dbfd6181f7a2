"""`stylebot worker`: one process that takes jobs from the queue and paints them with the engine.

On SQLite the worker polls the `jobs` table (`WorkerStore.claim`); on Postgres it runs procrastinate's worker
(`worker.procrastinate_worker`). Either way it loads the engine once, runs one job at a time through
`JobRunner`, and on SIGTERM lets the running job go on for STYLEBOT_SHUTDOWN_GRACE seconds before handing it
back to the queue.
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
from dataclasses import dataclass
from types import FrameType

from engine.errors import EngineError
from jobs.database import SQLITE
from jobs.migrate import apply_migrations
from jobs.models import ClaimedJob, JobParams
from jobs.storage import Storage, open_storage
from jobs.worker_store import WorkerStore
from stylebot.config import Settings, SettingsError
from stylebot.health import Heartbeat, worker_name
from worker.engine_adapter import (
    Engine,
    EngineFactory,
    common_sizes,
    default_engine_factory,
    stylize_options,
)
from worker.runner import SHUTDOWN, AbortReason, Delayed, JobRunner, Released

log = logging.getLogger("stylebot.worker")

PRESENCE_INTERVAL_S = 2.0
EXIT_HUNG = 3  # the exit status of a worker whose engine got stuck


class ShutdownClock:
    """After a stop was asked for, the running job may go on for `grace_s`; then it is handed back."""

    def __init__(self, stop_event: threading.Event, grace_s: float) -> None:
        self.stop_event = stop_event
        self.grace_s = grace_s
        self._seen: float | None = None

    def reason(self) -> str | None:
        if not self.stop_event.is_set():
            return None
        now = time.monotonic()
        if self._seen is None:
            self._seen = now
        return SHUTDOWN if now - self._seen >= self.grace_s else None


class Presence:
    """Tells the database this worker is alive (the bot warns users when none is), and touches the
    heartbeat file while idle (a running job's own heartbeat touches it then)."""

    def __init__(self, store: WorkerStore, worker_id: str, liveness: Heartbeat) -> None:
        self.store = store
        self.worker_id = worker_id
        self.liveness = liveness
        self.job_id: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.store.worker_gone(self.worker_id)
        except Exception:
            log.warning("worker=%s: could not sign off", self.worker_id, exc_info=True)
        self.liveness.remove()  # a worker that stopped is not a stale one

    def _run(self) -> None:
        while True:
            if self.job_id is None:
                self.liveness.beat()
            try:
                self.store.worker_seen(self.worker_id, self.job_id)
            except Exception:
                log.debug("worker=%s: presence not recorded", self.worker_id, exc_info=True)
            if self._stop.wait(PRESENCE_INTERVAL_S):
                return


@dataclass
class WorkerContext:
    """Everything one worker process holds while it runs jobs."""

    settings: Settings
    worker_id: str
    store: WorkerStore
    storage: Storage
    engine: Engine
    stop_event: threading.Event
    liveness: Heartbeat
    presence: Presence
    warm: WarmUp
    exit_when_hung: bool = False  # a worker process of its own ends itself when its engine is stuck

    def runner(self, job: ClaimedJob, abort_reason: AbortReason) -> JobRunner:
        return JobRunner(
            self.store,
            self.storage,
            self.engine,
            job,
            settings=self.settings,
            worker_id=self.worker_id,
            abort_reason=abort_reason,
            liveness=self.liveness,
            on_hung=self._exit_later if self.exit_when_hung else None,
        )

    def _exit_later(self) -> None:
        """A stuck engine thread can't be stopped: unless a pool kills this process first, it ends itself."""
        if not self.stop_event.wait(self.settings.lease_s):
            log.error("worker=%s exits: its engine is stuck (a supervisor restarts it)", self.worker_id)
            os._exit(EXIT_HUNG)


def run_worker(
    settings: Settings,
    *,
    worker_id: str | None = None,
    engine_factory: EngineFactory | None = None,
    stop_event: threading.Event | None = None,
    poll_interval: float = 0.5,
    max_jobs: int | None = None,
    store: WorkerStore | None = None,
    exit_when_hung: bool = False,
) -> int:
    """Load the engine once, then run jobs one at a time until stop_event; returns the jobs run."""
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    stop_event = stop_event or threading.Event()
    apply_migrations(settings.database)
    own_store = store is None
    store = store or WorkerStore(settings)
    liveness = Heartbeat(settings.data_dir, worker_name(worker_id))
    presence = Presence(store, worker_id, liveness)
    try:
        started = time.monotonic()
        engine = (engine_factory or default_engine_factory(settings))()
        context = WorkerContext(
            settings,
            worker_id,
            store,
            open_storage(settings.storage),
            engine,
            stop_event,
            liveness,
            presence,
            WarmUp(engine, settings, worker_id),
            exit_when_hung=exit_when_hung,
        )
        log.info("worker_ready worker=%s load_s=%.2f", worker_id, time.monotonic() - started)
        log.debug(
            "worker_config worker=%s database=%s storage=%r lease_s=%g time_limit_s=%g",
            worker_id, store.db.dialect, context.storage, settings.lease_s, settings.job_time_limit_s,
        )
        presence.start()
        if store.db.dialect == SQLITE:
            done = _poll(context, poll_interval, max_jobs)
        else:
            from worker.procrastinate_worker import run_procrastinate

            done = run_procrastinate(context, max_jobs)
        log.info("worker_stop worker=%s jobs=%d", worker_id, done)
        return done
    finally:
        if presence.running:
            presence.stop()
        if own_store:
            store.close()


class WarmUp:
    """Traces (TF) or compiles (JAX, when its disk cache is cold) the loops of the commonest sizes, in the
    background, the first time the worker has nothing to do: warming up while a job waits would only delay it
    (measured with bench/first_job.py), but the next user whose photo needs another shape then waits less."""

    def __init__(self, engine: Engine, settings: Settings, worker_id: str) -> None:
        self._warm_up = getattr(engine, "warm_up", None) if settings.warm_up else None
        self._sizes = common_sizes(settings.default_size)
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
            done = self._warm_up(self._sizes)
        except Exception:
            log.warning("worker=%s: warming up failed; jobs compile as they come", self._worker_id, exc_info=True)
            return
        log.info("worker_warm worker=%s shapes=%d seconds=%.2f", self._worker_id, len(done.shapes), done.seconds)


def _poll(context: WorkerContext, poll_interval: float, max_jobs: int | None) -> int:
    """SQLite: claim the next job, run it, repeat."""
    done = 0
    stop_event = context.stop_event
    while not stop_event.is_set() and (max_jobs is None or done < max_jobs):
        try:
            job = context.store.claim(context.worker_id)
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
            context.runner(job, ShutdownClock(stop_event, context.settings.shutdown_grace_s).reason).run()
        except (Released, Delayed):
            pass  # already back in the queue
        finally:
            context.presence.job_id = None
        done += 1
    return done


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
