"""`stylebot bench --contenders worker`: the same picture painted through the worker's code path and through the CLI's.

The `worker` contender runs a job through `JobRunner` exactly as a worker process does (its inputs read from a
storage, progress and previews taken, the heartbeat thread renewing the lease, the cancel checks, the result
encoded and stored), with the same options as the `stylize` contender, so the two compare per iteration. The
queue is an in-memory stand-in: the database is not what is measured here.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from bench.cases import Case, Run
from engine.options import StylizeOptions
from engine.transfer import Stylizer
from engine.types import CancelCheck, ProgressCallback, StylizeResult
from jobs import keys
from jobs.models import ClaimedJob, ErrorCode, JobOutcome, JobParams, JobState
from jobs.storage import LocalStorage
from settings import Settings
from worker.runner import JobRunner

WORKER_ID = "bench"


class MemoryQueue:
    """Just enough of `WorkerQueue` for one job at a time, in memory."""

    def __init__(self) -> None:
        self.ended: str | None = None

    def heartbeat(self, job_id: int, worker_id: str, **progress: object) -> bool:
        return True

    def finish(self, job_id: int, worker_id: str, outcome: JobOutcome) -> None:
        self.ended = JobState.DONE

    def fail(self, job_id: int, worker_id: str, code: ErrorCode, details: str = "", *, retry: bool = False) -> None:
        raise RuntimeError(f"the benchmark's job failed: {code} {details}")

    def delay(self, job_id: int, worker_id: str, code: ErrorCode, details: str = "") -> float | None:
        raise RuntimeError(f"the benchmark's job was delayed: {details}")

    def mark_cancelled(self, job_id: int, worker_id: str) -> None:
        self.ended = JobState.CANCELLED

    def release(self, job_id: int, worker_id: str) -> None:
        self.ended = JobState.QUEUED

    def worker_seen(self, worker_id: str, job_id: int | None = None) -> None:
        return None


class FixedOptions:
    """The stylizer, with the options of the comparison whatever the job's parameters say."""

    def __init__(self, stylizer: Stylizer, options: StylizeOptions) -> None:
        self.stylizer = stylizer
        self.options = options

    def stylize(
        self,
        content: bytes,
        styles: Sequence[bytes],
        options: StylizeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> StylizeResult:
        return self.stylizer.stylize(content, styles, self.options, progress=progress, cancel=cancel)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG")
    return out.getvalue()


def through_worker(case: Case) -> Run:
    """Paint `steps` iterations as one job through `JobRunner` (one stage, the case's size)."""
    width, height = case.size
    folder = Path(tempfile.mkdtemp(prefix="stylebot-bench-worker-"))
    storage = LocalStorage(folder)
    content_key, style_key = keys.upload_key(1, "content", ".png"), keys.upload_key(1, "style", ".png")
    storage.put(content_key, _png(case.content.resize((width, height))))
    storage.put(style_key, _png(case.style))
    settings = Settings(data_dir=folder, job_time_limit_s=24 * 3600.0)

    def run(steps: int) -> None:
        options = StylizeOptions(max_side=max(width, height), iterations=steps, multiscale=False,
                                 precision=case.precision)
        job = ClaimedJob(
            id=1, attempt=1, user_id=1, content_key=content_key, style_keys=(style_key,),
            params=JobParams(max_side=max(width, height), iterations=steps),
            result_key=keys.result_key(1, 1), preview_key=keys.preview_key(1, 1),
            timelapse_key=keys.timelapse_key(1, 1),
        )
        queue = MemoryQueue()
        JobRunner(queue, storage, FixedOptions(case.stylizer, options), job, settings=settings,
                  worker_id=WORKER_ID).run()
        assert queue.ended == JobState.DONE

    return run

