"""Running one job: inputs from the storage, the engine, heartbeats, previews, the time limit and every ending."""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from PIL import Image

from engine.errors import CancelledError, EngineError
from engine.types import Progress, StylizeResult
from jobs.interface import WorkerQueue
from jobs.models import ClaimedJob, ErrorCode, JobOutcome
from jobs.storage import MissingFile, Storage
from presence import beat_interval_s
from settings import Settings
from worker.engine_adapter import Engine, stylize_options
from worker.timelapse import TimeLapse

log = logging.getLogger("stylebot.worker")

T = TypeVar("T")
RECORD_RETRY_S = 120.0  # how long a finished job's outcome is retried while the database is unreachable
FRAME_EVERY_S = 0.5  # how often a time-lapse frame is taken at most
PREVIEW_QUALITY = 85



class StopReason(StrEnum):
    """Why a running job is stopped from outside the engine."""

    CANCELLED = "cancelled"  # the user asked, or this worker lost the job
    SHUTDOWN = "shutdown"  # the worker is stopping and the grace period is over
    TIME_LIMIT = "time_limit"


class RunEnd(StrEnum):
    """How `JobRunner.run` ended (what it recorded for the job)."""

    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RELEASED = "released"  # handed back to the queue (the worker is stopping)
    DELAYED = "delayed"  # back in the queue to run again later (the storage could not be read or written)


AbortReason = Callable[[], StopReason | None]  # the loop's view: CANCELLED, SHUTDOWN or None


class Released(Exception):
    """The job went back to the queue because this worker is stopping (procrastinate retries it)."""


class Delayed(Exception):
    """The job went back to the queue to run again in `seconds` (the storage failed it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"runs again in {seconds:.0f} s")
        self.seconds = seconds


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


class JobControl:
    """What the engine thread and the heartbeat thread share while one job runs."""

    def __init__(self, time_limit_s: float, abort_reason: AbortReason) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + time_limit_s
        self.stop_reason: StopReason | None = None
        self.finished = threading.Event()
        self._abort_reason = abort_reason
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: tuple[int, int, float | None] = (0, 0, None)
        self._preview: Image.Image | None = None

    def request_stop(self, reason: StopReason) -> None:
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
        self._stop.set()

    def should_stop(self) -> bool:
        """The engine's cancel check: a stop was requested, the loop wants the job back, or time is up."""
        if not self._stop.is_set():
            reason = self._abort_reason()
            if reason is not None:
                self.request_stop(reason)
            elif time.monotonic() >= self.deadline:
                self.request_stop(StopReason.TIME_LIMIT)
        return self._stop.is_set()

    def report(self, iteration: int, total: int, eta: float | None) -> None:
        with self._lock:
            self._progress = (iteration, total, eta)

    def set_preview(self, image: Image.Image) -> None:
        with self._lock:
            self._preview = image

    def take(self) -> tuple[int, int, float | None, Image.Image | None]:
        """The latest progress and the preview made since the last call (if any)."""
        with self._lock:
            preview, self._preview = self._preview, None
            return (*self._progress, preview)


class JobRunner:
    """Runs one started job to its end and records how it ended."""

    def __init__(
        self,
        queue: WorkerQueue,
        storage: Storage,
        engine: Engine,
        job: ClaimedJob,
        *,
        settings: Settings,
        worker_id: str,
        abort_reason: AbortReason = lambda: None,
        on_hung: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.storage = storage
        self.engine = engine
        self.job = job
        self.settings = settings
        self.worker_id = worker_id
        self.on_hung = on_hung  # called (from the heartbeat thread) once the engine is found stuck
        self.control = JobControl(settings.job_time_limit_s, abort_reason)
        self.interval = beat_interval_s(settings.lease_s, settings.heartbeat_s)
        self._last_preview = time.monotonic()
        self._last_frame = -math.inf
        self.timelapse = TimeLapse()
        self.loop_calls = 0
        self.delayed_s: float | None = None
        self.previewed = False

    def run(self) -> RunEnd:
        """Run the job and record its end; returns how it ended (for the log line). Raises Released on shutdown."""
        job = self.job
        beat = threading.Thread(target=self._heartbeat_loop, name=f"heartbeat-{job.id}", daemon=True)
        beat.start()
        code: str | None = None
        details = ""
        try:
            ended, code, details = self._paint()
        finally:
            self.control.finished.set()
            beat.join()
            if self.previewed:  # a preview only matters while the job runs
                self._quietly(lambda: self.storage.delete([job.preview_key]))
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
        if ended == RunEnd.RELEASED:
            raise Released(f"job {job.id} handed back")
        if ended == RunEnd.DELAYED and self.delayed_s is not None:
            raise Delayed(self.delayed_s)
        return ended

    def _paint(self) -> tuple[RunEnd, str | None, str]:
        job = self.job
        try:
            content = self.storage.get(job.content_key)
            styles = [self.storage.get(key) for key in job.style_keys]
        except MissingFile as exc:
            return self._failed(ErrorCode.BAD_IMAGE, f"picture {exc} is gone from the storage")
        except Exception as exc:  # an unreachable store, a failing disk: the job waits and runs again later
            log.warning("job %d: could not read its pictures (%r); it will run again later", job.id, exc)
            return self._delay(ErrorCode.STORAGE_UNAVAILABLE, exc)
        try:
            result = self.engine.stylize(
                content,
                styles,
                stylize_options(job.params, self.settings.precision),
                progress=self._on_progress,
                cancel=self.control.should_stop,
            )
        except EngineError as exc:
            if isinstance(exc, CancelledError) and self.control.stop_reason is not None:
                return self._stopped()
            log.warning("job %d failed: %s: %s", job.id, exc.code, exc.message)
            return self._failed(_error_code(exc), exc.message)
        except MemoryError:
            log.exception("job %d ran out of memory", job.id)
            return self._failed(ErrorCode.OUT_OF_MEMORY, "MemoryError")
        except Exception as exc:
            log.exception("job %d failed inside the engine", job.id)
            return self._failed(ErrorCode.INTERNAL, repr(exc))
        return self._save(result)

    def _save(self, result: StylizeResult) -> tuple[RunEnd, str | None, str]:
        job = self.job
        try:
            self.storage.put(job.result_key, encode(result.image, "PNG"))
        except Exception as exc:  # a full disk, an unreachable store: the painting waits and runs again later
            log.warning("job %d: could not store the result (%r); it will run again later", job.id, exc)
            return self._delay(ErrorCode.STORAGE_FULL, exc)
        self.loop_calls = int(result.extra.get("loop_calls", 0))
        animation = self.timelapse.gif(result.image)
        if animation is not None:  # a nicety: the result counts, not its time-lapse
            self._quietly(lambda: self.storage.put(job.timelapse_key, animation))
        outcome = JobOutcome(
            result_key=job.result_key,
            width=result.image.width,
            height=result.image.height,
            iterations=result.iterations,
            evaluations=result.evaluations,
            seconds=result.seconds,
            content_loss=result.content_loss,
            style_loss=result.style_loss,
            extra={"size_fallbacks": result.size_fallbacks, "loop_calls": self.loop_calls},
        )
        self._record(lambda: self.queue.finish(job.id, self.worker_id, outcome))
        details = (
            f" iterations={outcome.iterations} evaluations={outcome.evaluations} loop_calls={self.loop_calls}"
            f" engine_s={outcome.seconds:.2f} size={outcome.width}x{outcome.height}"
            f" size_fallbacks={result.size_fallbacks}"
        )
        return RunEnd.DONE, None, details

    def _delay(self, code: ErrorCode, exc: Exception) -> tuple[RunEnd, str | None, str]:
        """Back in line, to run again after the storage back-off (`WorkerQueueBase.delay`)."""
        details = repr(exc)
        self.delayed_s = self._record(lambda: self.queue.delay(self.job.id, self.worker_id, code, details))
        return RunEnd.DELAYED, code.value, ""

    def _failed(self, code: ErrorCode, details: str) -> tuple[RunEnd, str | None, str]:
        self._record(lambda: self.queue.fail(self.job.id, self.worker_id, code, details))
        return RunEnd.FAILED, code.value, ""

    def _stopped(self) -> tuple[RunEnd, str | None, str]:
        """The engine stopped because we asked it to; record why."""
        job, reason = self.job, self.control.stop_reason
        if reason == StopReason.TIME_LIMIT:
            limit = f"{self.settings.job_time_limit_s:g} s"
            self._record(lambda: self.queue.fail(job.id, self.worker_id, ErrorCode.TIME_LIMIT, f"over {limit}"))
            return RunEnd.FAILED, ErrorCode.TIME_LIMIT.value, ""
        if reason == StopReason.SHUTDOWN:
            self._record(lambda: self.queue.release(job.id, self.worker_id))
            return RunEnd.RELEASED, None, ""
        # Cancelled by the user, or this worker lost the job (then the store ignores its writes).
        self._record(lambda: self.queue.mark_cancelled(job.id, self.worker_id))
        return RunEnd.CANCELLED, None, ""

    def _record(self, write: Callable[[], T]) -> T | None:
        """Write the job's end, retrying while the database is unreachable (e.g. restarting)."""
        deadline = time.monotonic() + RECORD_RETRY_S
        delay = 0.2
        while True:
            try:
                return write()
            except Exception:
                if time.monotonic() >= deadline:
                    log.exception("job %d: could not record its end; another worker will run it again", self.job.id)
                    return None
                log.warning("job %d: recording its end failed; retrying in %.1f s", self.job.id, delay, exc_info=True)
                time.sleep(delay)
                delay = min(5.0, delay * 2)

    def _on_progress(self, progress: Progress) -> None:
        """Called by the engine: remember progress; take a time-lapse frame now and then, and a preview every
        preview_interval_s (both computed now: the engine reuses its buffers)."""
        self.control.report(progress.iteration, progress.total, progress.eta)
        now = time.monotonic()
        frame_due = now - self._last_frame >= FRAME_EVERY_S
        preview_due = now - self._last_preview >= self.settings.preview_interval_s
        if not (frame_due or preview_due):
            return
        try:
            picture = progress.preview()
        except Exception:
            log.warning("job %d: could not take a preview", self.job.id, exc_info=True)
            return
        if frame_due:
            self._last_frame = now
            self.timelapse.add(picture)
        if preview_due:
            self._last_preview = now
            self.control.set_preview(picture)

    def _heartbeat_loop(self) -> None:
        """Renew the lease and write progress every `interval`; store previews; stop the engine when told to.

        A job still running a lease after its time limit did not stop when asked: its engine is stuck. Then
        the job is failed for its time limit and `on_hung` is called: the worker's presence falls silent (see
        `presence`), so the pool's watchdog, or the worker itself when on its own, ends the process.
        """
        while not self.control.finished.wait(self.interval):
            if time.monotonic() > self.control.deadline + self.settings.lease_s:
                self._hung()
                return
            iteration, total, eta, preview = self.control.take()
            preview_key = self._store_preview(preview) if preview is not None else None
            try:
                alive = self.queue.heartbeat(
                    self.job.id,
                    self.worker_id,
                    iteration=iteration,
                    total=total,
                    eta_s=eta,
                    preview_key=preview_key,
                )
            except Exception:
                log.warning("job %d: heartbeat failed; retrying", self.job.id, exc_info=True)
                continue
            if not alive:
                self.control.request_stop(StopReason.CANCELLED)

    def _hung(self) -> None:
        job = self.job
        log.error("job %d: running %.0f s past its time limit; its engine is stuck", job.id, self.settings.lease_s)
        self._record(lambda: self.queue.fail(job.id, self.worker_id, ErrorCode.TIME_LIMIT, "the engine did not stop"))
        if self.on_hung is not None:
            self.on_hung()

    def _store_preview(self, preview: Image.Image) -> str | None:
        data = encode(preview.convert("RGB"), "JPEG", quality=PREVIEW_QUALITY)
        if not self._quietly(lambda: self.storage.put(self.job.preview_key, data)):
            return None
        self.previewed = True
        return self.job.preview_key

    def _quietly(self, storage_call: Callable[[], object]) -> bool:
        """A storage call whose failure costs only a preview: logged, not raised."""
        try:
            storage_call()
        except Exception:
            log.warning("job %d: preview storage failed", self.job.id, exc_info=True)
            return False
        return True


def _error_code(exc: EngineError) -> ErrorCode:
    try:
        return ErrorCode(exc.code)
    except ValueError:
        return ErrorCode.INTERNAL
