"""`stylebot worker`: one process that claims jobs from the queue and paints them with the engine."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from engine.errors import EngineError
from jobs import files
from jobs.interface import WorkerQueue
from jobs.migrate import apply_migrations
from jobs.models import ClaimedJob, ErrorCode, JobOutcome, JobParams
from jobs.worker_store import SqliteWorkerQueue
from stylebot.config import Settings
from stylebot.health import Heartbeat, worker_name

log = logging.getLogger("stylebot.worker")

ENGINE_FACTORY_ENV = "STYLEBOT_ENGINE_FACTORY"
QUALITY_FACTORS = {"fast": 0.5, "balanced": 1.0, "best": 2.0}

INTERNAL_MESSAGE = "Sorry, something went wrong while painting this picture. Please try again later."
OOM_MESSAGE = "This picture is too large to paint right now, even at a reduced size. Try a smaller size."
BAD_IMAGE_MESSAGE = "I couldn't read one of the images. Please send it again as a photo (JPEG or PNG)."


class Engine(Protocol):
    def stylize(self, content: Any, styles: Any, **options: Any) -> Any: ...


EngineFactory = Callable[[], Engine]


def default_engine_factory(settings: Settings) -> EngineFactory:
    """STYLEBOT_ENGINE_FACTORY="module:callable" when set, else the real engine (imported when called)."""
    spec = os.environ.get(ENGINE_FACTORY_ENV, "").strip()
    if spec:
        module_name, _, attribute = spec.partition(":")
        factory: EngineFactory = getattr(importlib.import_module(module_name), attribute)
        return factory

    def load() -> Engine:
        from engine import Stylizer  # heavy: Keras and TensorFlow load here

        engine: Engine = Stylizer(weights=settings.weights)
        return engine

    return load


def engine_options(params: JobParams) -> dict[str, Any]:
    """The engine's keyword arguments for a job's parameters (quality scales the iterations)."""
    factor = QUALITY_FACTORS.get(params.quality, 1.0)
    options: dict[str, Any] = {
        "iterations": max(1, round(params.iterations * factor)),
        "strength": params.strength,
        "max_side": params.max_side,
        "preserve_colors": params.preserve_colors,
        "seed": params.seed,
    }
    if params.style_weights is not None:
        options["style_weights"] = list(params.style_weights)
    return options


def error_code(exc: EngineError) -> ErrorCode:
    try:
        return ErrorCode(exc.code)
    except ValueError:
        return ErrorCode.INTERNAL


class JobControl:
    """What the engine thread and the heartbeat thread share while one job runs."""

    def __init__(self, time_limit_s: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + time_limit_s
        self.stop_reason: str | None = None  # "cancelled" | "time_limit" | "shutdown"
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: tuple[int, int, float | None] = (0, 0, None)
        self._preview: Path | None = None

    def request_stop(self, reason: str) -> None:
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
        self._stop.set()

    def should_stop(self) -> bool:
        """The engine's cancel check: a stop was requested, or the time limit passed."""
        if not self._stop.is_set() and time.monotonic() >= self.deadline:
            self.request_stop("time_limit")
        return self._stop.is_set()

    def report(self, iteration: int, total: int, eta: float | None) -> None:
        with self._lock:
            self._progress = (iteration, total, eta)

    def set_preview(self, path: Path) -> None:
        with self._lock:
            self._preview = path

    def take(self) -> tuple[int, int, float | None, Path | None]:
        """The latest progress and the preview written since the last call (if any)."""
        with self._lock:
            preview, self._preview = self._preview, None
            return (*self._progress, preview)


class JobRunner:
    """Runs one claimed job: heartbeats, progress, previews, the time limit and every way it can end."""

    def __init__(
        self,
        queue: WorkerQueue,
        engine: Engine,
        job: ClaimedJob,
        *,
        settings: Settings,
        worker_id: str,
        stop_event: threading.Event,
        liveness: Heartbeat | None = None,
    ) -> None:
        self.queue = queue
        self.engine = engine
        self.job = job
        self.settings = settings
        self.worker_id = worker_id
        self.stop_event = stop_event
        self.liveness = liveness  # the worker's heartbeat file for `stylebot health`, touched while the job runs
        self.control = JobControl(settings.job_time_limit_s)
        self.interval = max(0.05, min(settings.heartbeat_s, settings.lease_s / 3))
        self._last_preview = time.monotonic()

    def run(self) -> str:
        """Run the job to its end and record it; returns how it ended (for the log line)."""
        job = self.job
        job.work_dir.mkdir(parents=True, exist_ok=True)
        beat = threading.Thread(target=self._heartbeat_loop, name=f"heartbeat-{job.id}", daemon=True)
        beat.start()
        code: str | None = None
        details = ""
        try:
            ended, code, details = self._paint()
        finally:
            self.control.finished.set()
            beat.join()
        run_s = time.monotonic() - self.control.started
        queued_s = max(0.0, time.time() - run_s - job.created_at) if job.created_at else 0.0
        log.info(
            "job_end job=%d worker=%s outcome=%s attempt=%d queued_s=%.2f run_s=%.2f code=%s%s",
            job.id,
            self.worker_id,
            ended,
            job.attempt,
            queued_s,
            run_s,
            code or "-",
            details,
        )
        return ended

    def _paint(self) -> tuple[str, str | None, str]:
        job, queue = self.job, self.queue
        try:
            result = self.engine.stylize(
                job.content_path,
                list(job.style_paths),
                **engine_options(job.params),
                progress=self._on_progress,
                progress_every=1,
                cancel=self.control.should_stop,
            )
        except EngineError as exc:
            if exc.code == "cancelled" and self.control.stop_reason is not None:
                return self._stopped()
            code = error_code(exc)
            log.warning("job %d failed: %s: %s", job.id, code, exc.message)
            queue.fail(job.id, self.worker_id, code, self._user_message(code, exc.message))
            return "failed", code.value, ""
        except MemoryError:
            log.exception("job %d ran out of memory", job.id)
            queue.fail(job.id, self.worker_id, ErrorCode.OUT_OF_MEMORY, OOM_MESSAGE)
            return "failed", ErrorCode.OUT_OF_MEMORY.value, ""
        except Exception:
            log.exception("job %d failed inside the engine", job.id)
            queue.fail(job.id, self.worker_id, ErrorCode.INTERNAL, INTERNAL_MESSAGE)
            return "failed", ErrorCode.INTERNAL.value, ""
        try:
            path = files.save_image(result.image, job.work_dir / files.RESULT_NAME, make_dirs=False)
        except OSError:
            log.exception("job %d: could not save the result", job.id)
            queue.fail(job.id, self.worker_id, ErrorCode.INTERNAL, INTERNAL_MESSAGE)
            return "failed", ErrorCode.INTERNAL.value, ""
        outcome = JobOutcome(
            result_path=path,
            width=result.image.width,
            height=result.image.height,
            iterations=result.iterations,
            evaluations=result.evaluations,
            seconds=result.seconds,
            content_loss=result.content_loss,
            style_loss=result.style_loss,
            extra={"size_fallbacks": getattr(result, "size_fallbacks", 0)},
        )
        queue.finish(job.id, self.worker_id, outcome)
        details = (
            f" iterations={outcome.iterations} evaluations={outcome.evaluations}"
            f" engine_s={outcome.seconds:.2f} size={outcome.width}x{outcome.height}"
            f" size_fallbacks={outcome.extra['size_fallbacks']}"
        )
        return "done", None, details

    def _stopped(self) -> tuple[str, str | None, str]:
        """The engine stopped because we asked it to; record why."""
        job, reason = self.job, self.control.stop_reason
        if reason == "time_limit":
            minutes = self.settings.job_time_limit_s / 60
            limit = (
                f"{minutes:g} minute{'s' if minutes != 1 else ''}"
                if minutes >= 1
                else (f"{self.settings.job_time_limit_s:g} seconds")
            )
            message = (
                f"This painting took longer than the {limit} limit, so I stopped it. "
                "Try a smaller size or the fast quality."
            )
            self.queue.fail(job.id, self.worker_id, ErrorCode.TIME_LIMIT, message)
            return "failed", ErrorCode.TIME_LIMIT.value, ""
        if reason == "shutdown":
            self.queue.release(job.id, self.worker_id)
            return "released", None, ""
        # Cancelled by the user, or the lease was lost (then the store ignores this worker's writes).
        self.queue.mark_cancelled(job.id, self.worker_id)
        return "cancelled", None, ""

    @staticmethod
    def _user_message(code: ErrorCode, engine_message: str) -> str:
        if code is ErrorCode.INTERNAL:
            return INTERNAL_MESSAGE
        fallback = {ErrorCode.BAD_IMAGE: BAD_IMAGE_MESSAGE, ErrorCode.OUT_OF_MEMORY: OOM_MESSAGE}
        return engine_message.strip() or fallback.get(code, INTERNAL_MESSAGE)

    def _on_progress(self, progress: Any) -> None:
        """Called by the engine: remember progress; write a preview every preview_interval_s."""
        self.control.report(progress.iteration, progress.total, progress.eta)
        now = time.monotonic()
        if now - self._last_preview < self.settings.preview_interval_s:
            return
        self._last_preview = now
        try:
            path = files.save_image(
                progress.preview(), self.job.work_dir / files.PREVIEW_NAME, make_dirs=False, quality=85
            )
        except Exception:
            log.warning("job %d: could not write a preview", self.job.id, exc_info=True)
            return
        self.control.set_preview(path)

    def _heartbeat_loop(self) -> None:
        """Renew the lease and write progress every `interval`; stop the engine when asked to."""
        shutdown_seen: float | None = None
        while not self.control.finished.wait(self.interval):
            if self.liveness is not None:
                self.liveness.beat()
            now = time.monotonic()
            if self.stop_event.is_set():
                shutdown_seen = shutdown_seen or now
                if now - shutdown_seen >= self.settings.shutdown_grace_s:
                    self.control.request_stop("shutdown")
            iteration, total, eta, preview = self.control.take()
            try:
                alive = self.queue.heartbeat(
                    self.job.id,
                    self.worker_id,
                    iteration=iteration,
                    total=total,
                    eta_s=eta,
                    preview_path=preview,
                )
            except Exception:
                log.warning("job %d: heartbeat failed; retrying", self.job.id, exc_info=True)
                if preview is not None:
                    self.control.set_preview(preview)
                continue
            if not alive:
                self.control.request_stop("cancelled")


def run_worker(
    settings: Settings,
    *,
    worker_id: str | None = None,
    engine_factory: EngineFactory | None = None,
    stop_event: threading.Event | None = None,
    poll_interval: float = 0.5,
    queue: WorkerQueue | None = None,
    max_jobs: int | None = None,
) -> int:
    """Load the engine once, then claim and run jobs one at a time until stop_event; returns the jobs run."""
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    stop_event = stop_event or threading.Event()
    own_queue = queue is None
    if queue is None:
        apply_migrations(settings.db_path)
        queue = SqliteWorkerQueue(settings)
    liveness = Heartbeat(settings.data_dir, worker_name(worker_id))
    try:
        started = time.monotonic()
        engine = (engine_factory or default_engine_factory(settings))()
        log.info("worker_ready worker=%s load_s=%.2f", worker_id, time.monotonic() - started)
        done = 0
        while not stop_event.is_set() and (max_jobs is None or done < max_jobs):
            liveness.beat()
            try:
                job = queue.claim(worker_id)
            except Exception:
                log.warning("worker=%s could not claim a job; retrying", worker_id, exc_info=True)
                stop_event.wait(max(poll_interval, 1.0))
                continue
            if job is None:
                stop_event.wait(poll_interval)
                continue
            runner = JobRunner(
                queue, engine, job, settings=settings, worker_id=worker_id, stop_event=stop_event, liveness=liveness
            )
            runner.run()
            done += 1
        log.info("worker_stop worker=%s jobs=%d", worker_id, done)
        return done
    finally:
        liveness.remove()  # a worker that stopped is not a stale one
        if own_queue and isinstance(queue, SqliteWorkerQueue):
            queue.close()


def main(argv: list[str] | None = None) -> int:
    """`stylebot worker`: run until SIGTERM or SIGINT (the current job finishes or is re-queued)."""
    parser = argparse.ArgumentParser(prog="stylebot worker", description=main.__doc__)
    parser.add_argument("--worker-id", help="name in the queue and the logs (default: host:pid)")
    parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds between claims when idle")
    parser.add_argument("--log-level", default=os.environ.get("STYLEBOT_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    stop_event = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("worker_signal signal=%s: claiming no more jobs", signal.Signals(signum).name)
        stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        run_worker(settings, worker_id=args.worker_id, stop_event=stop_event, poll_interval=args.poll_interval)
    except EngineError as exc:
        log.error("worker could not start the engine: %s (%s)", exc.message, exc.code)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
