"""What a worker does to the job it holds, the same on both backends: progress, finish, fail, delay, release.

How a worker gets a job differs: on SQLite it claims one (`jobs.queue.sqlite.SqliteWorkerQueue.claim`); on
Postgres procrastinate hands it one, which it then `start`s here. Every write here is guarded by the worker's id,
so a worker that lost its job (its lease ran out, or procrastinate gave the job to another worker) can no longer
change it.
"""

from __future__ import annotations

import json
import time
from typing import Any, Self

from sqlalchemy import RowMapping

from jobs import keys, sql
from jobs.database import SyncDatabase, statement
from jobs.models import ClaimedJob, ErrorCode, JobOutcome, JobParams, JobState
from settings import Settings

MAX_DELAY_S = 3600.0
START_BY_ID = sql.START_JOB + f"WHERE id = :id AND state = 'queued' RETURNING {sql.STARTED_COLUMNS}"


class WorkerQueueBase:
    """`WorkerQueue`'s shared part on either database; thread-safe (a worker's heartbeat thread shares it)."""

    def __init__(self, settings: Settings, *, database: SyncDatabase | None = None) -> None:
        self.settings = settings
        self.db = database or SyncDatabase(settings.database)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, job_id: int, worker_id: str) -> ClaimedJob | None:
        """Record that this worker starts the job it was handed; None when it is not waiting any more (cancelled)."""
        rows = self.db.write_returning(START_BY_ID, {**self.start_params(worker_id, time.time()), "id": job_id})
        return claimed(rows[0]) if rows else None

    def heartbeat(
        self,
        job_id: int,
        worker_id: str,
        *,
        iteration: int,
        total: int,
        eta_s: float | None = None,
        preview_key: str | None = None,
    ) -> bool:
        """Extend the lease and record progress; False when the job was cancelled or this worker lost it."""
        params = {
            "id": job_id,
            "worker": worker_id,
            "lease": time.time() + self.settings.lease_s,
            "iteration": iteration,
            "total": total,
            "eta": eta_s,
            "preview": preview_key,
        }
        rows = self.db.write_returning(sql.HEARTBEAT, params)
        return bool(rows) and not rows[0]["cancel_requested"]

    def finish(self, job_id: int, worker_id: str, outcome: JobOutcome) -> None:
        """Mark the job done with its result (a no-op when this worker lost the job meanwhile)."""
        self.db.execute(
            sql.FINISH,
            {
                "id": job_id,
                "worker": worker_id,
                "now": time.time(),
                "key": outcome.result_key,
                "width": outcome.width,
                "height": outcome.height,
                "seconds": outcome.seconds,
            },
        )

    def fail(
        self, job_id: int, worker_id: str, code: ErrorCode, details: str = "", *, retry: bool = False
    ) -> JobState | None:
        """Record a failure (its code tells the user what happened); retry queues it again while attempts remain.

        Returns the job's new state (queued or failed), or None when this worker no longer had the job.
        """
        params = {
            "id": job_id,
            "worker": worker_id,
            "now": time.time(),
            "code": ErrorCode(code).value,
            "message": details[:1000],
            "retry": retry,
            "max_attempts": self.settings.max_attempts,
        }
        rows = self.db.write_returning(sql.FAIL, params)
        return JobState(rows[0]["state"]) if rows else None

    def delay(self, job_id: int, worker_id: str, code: ErrorCode, details: str = "") -> float | None:
        """Put the job back in its place to run again later (the storage failed it), backing off
        `storage_retry_s` · 2^n; returns the seconds it waits, or None when it is gone from this worker (or was
        cancelled meanwhile)."""
        with self.db.transaction() as conn:
            row = conn.execute(statement(sql.JOB_STATE), {"id": job_id}).mappings().first()
            if row is None:
                return None
            wait_s = min(MAX_DELAY_S, self.settings.storage_retry_s * 2 ** int(row["delays"]))
            now = time.time()
            params = {
                "id": job_id,
                "worker": worker_id,
                "now": now,
                "not_before": now + wait_s,
                "code": ErrorCode(code).value,
                "message": details[:1000],
            }
            updated = conn.execute(statement(sql.DELAY), params).mappings().first()
        return wait_s if updated is not None and updated["state"] == JobState.QUEUED else None

    def mark_cancelled(self, job_id: int, worker_id: str) -> None:
        """Record that the job stopped on request."""
        self.db.execute(sql.MARK_CANCELLED, {"id": job_id, "worker": worker_id, "now": time.time()})

    def release(self, job_id: int, worker_id: str) -> JobState | None:
        """Put the job back in line in its old place (or cancel it, if that was asked meanwhile)."""
        rows = self.db.write_returning(sql.RELEASE, {"id": job_id, "worker": worker_id, "now": time.time()})
        return JobState(rows[0]["state"]) if rows else None

    def abandon(self, worker_id: str, code: ErrorCode) -> list[int]:
        """Fail the jobs a dead (killed) worker was running, with this code; returns their ids."""
        params = {"worker": worker_id, "now": time.time(), "code": ErrorCode(code).value}
        return [int(row["id"]) for row in self.db.write_returning(sql.ABANDON, params)]

    def waiting(self) -> int:
        """Jobs waiting in the queue (any user's)."""
        row = self.db.fetchone(sql.COUNT_WAITING)
        return int(next(iter(row.values()))) if row else 0

    def worker_seen(self, worker_id: str, job_id: int | None = None) -> None:
        """Record that this worker is alive (the bot tells users when none is)."""
        self.db.execute(sql.WORKER_SEEN, {"worker": worker_id, "now": time.time(), "job": job_id})

    def worker_gone(self, worker_id: str) -> None:
        self.db.execute(sql.WORKER_GONE, {"worker": worker_id})

    def start_params(self, worker_id: str, now: float) -> dict[str, Any]:
        return {"worker": worker_id, "lease": now + self.settings.lease_s, "now": now}

    def lost_params(self, now: float) -> dict[str, Any]:
        return {"now": now, "max_attempts": self.settings.max_attempts, "code": ErrorCode.WORKER_LOST.value}


def claimed(row: RowMapping) -> ClaimedJob:
    """A started job's row (`sql.STARTED_COLUMNS`) as the worker receives it."""
    user_id, job_id = int(row["user_id"]), int(row["id"])
    return ClaimedJob(
        id=job_id,
        attempt=int(row["attempts"]),
        user_id=user_id,
        content_key=row["content_key"],
        style_keys=tuple(json.loads(row["style_keys"])),
        params=JobParams.from_json(row["params"]),
        result_key=keys.result_key(user_id, job_id),
        preview_key=keys.preview_key(user_id, job_id),
        timelapse_key=keys.timelapse_key(user_id, job_id),
        created_at=float(row["created_at"]),
    )
