"""The workers' side of the queue on the SQLite file (plain sqlite3; one connection per process)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from jobs import files, sql
from jobs.db import connect, write_transaction
from jobs.models import ClaimedJob, ErrorCode, JobOutcome, JobParams
from stylebot.config import Settings


def worker_lost_message(attempts: int) -> str:
    return (
        f"Sorry, the painting could not be finished: the worker running it stopped unexpectedly "
        f"{attempts} time{'s' if attempts != 1 else ''}. Please try again later."
    )


class SqliteWorkerQueue:
    """`WorkerQueue` on SQLite; thread-safe (a worker's heartbeat thread shares the connection)."""

    def __init__(self, settings: Settings, *, one_per_user: bool = True) -> None:
        self.settings = settings
        self.one_per_user = one_per_user
        self._conn = connect(settings.db_path)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def claim(self, worker_id: str) -> ClaimedJob | None:
        """Atomically take the oldest queued job whose user has none running, after recovering lost leases."""
        now = time.time()
        with self._lock, write_transaction(self._conn) as conn:
            self._expire_leases(conn, now)
            rows = conn.execute(
                sql.CLAIM,
                {
                    "worker": worker_id,
                    "lease": now + self.settings.lease_s,
                    "now": now,
                    "one_per_user": self.one_per_user,
                },
            ).fetchall()  # fetch every RETURNING row: a statement still in progress blocks COMMIT
        if not rows:
            return None
        row = rows[0]
        return ClaimedJob(
            id=row["id"],
            attempt=row["attempts"],
            content_path=Path(row["content_path"]),
            style_paths=tuple(Path(p) for p in json.loads(row["style_paths"])),
            params=JobParams.from_json(row["params"]),
            work_dir=files.job_dir(self.settings.files_dir, row["user_id"], row["id"]),
            user_id=row["user_id"],
            created_at=row["created_at"],
        )

    def requeue_expired(self) -> int:
        """Recover jobs whose worker stopped renewing its lease; returns how many were touched."""
        with self._lock, write_transaction(self._conn) as conn:
            return self._expire_leases(conn, time.time())

    def _expire_leases(self, conn: sqlite3.Connection, now: float) -> int:
        max_attempts = self.settings.max_attempts
        cursor = conn.execute(
            sql.EXPIRE_LEASES,
            {
                "now": now,
                "max_attempts": max_attempts,
                "code": ErrorCode.WORKER_LOST.value,
                "message": worker_lost_message(max_attempts),
            },
        )
        return cursor.rowcount

    def heartbeat(
        self,
        job_id: int,
        worker_id: str,
        *,
        iteration: int,
        total: int,
        eta_s: float | None = None,
        preview_path: Path | None = None,
    ) -> bool:
        """Extend the lease and record progress; False when the job was cancelled or the lease was lost."""
        params = {
            "id": job_id,
            "worker": worker_id,
            "lease": time.time() + self.settings.lease_s,
            "iteration": iteration,
            "total": total,
            "eta": eta_s,
            "preview": str(preview_path) if preview_path is not None else None,
        }
        with self._lock, write_transaction(self._conn) as conn:
            rows = conn.execute(sql.HEARTBEAT, params).fetchall()
        return bool(rows) and not rows[0]["cancel_requested"]

    def finish(self, job_id: int, worker_id: str, outcome: JobOutcome) -> None:
        """Mark the job done with its result (a no-op when the lease was lost meanwhile)."""
        self._write(
            sql.FINISH,
            {
                "id": job_id,
                "worker": worker_id,
                "now": time.time(),
                "path": str(outcome.result_path),
                "width": outcome.width,
                "height": outcome.height,
                "seconds": outcome.seconds,
            },
        )

    def fail(self, job_id: int, worker_id: str, code: ErrorCode, message: str, *, retry: bool = False) -> None:
        """Record a failure; with retry the job is queued again while attempts remain."""
        self._write(
            sql.FAIL,
            {
                "id": job_id,
                "worker": worker_id,
                "now": time.time(),
                "code": ErrorCode(code).value,
                "message": message,
                "retry": retry,
                "max_attempts": self.settings.max_attempts,
            },
        )

    def mark_cancelled(self, job_id: int, worker_id: str) -> None:
        """Record that the job stopped on request."""
        self._write(sql.MARK_CANCELLED, {"id": job_id, "worker": worker_id, "now": time.time()})

    def release(self, job_id: int, worker_id: str) -> None:
        """Put the job back in the queue in its old place (or cancel it, if that was asked meanwhile)."""
        self._write(sql.RELEASE, {"id": job_id, "worker": worker_id, "now": time.time()})

    def _write(self, statement: str, params: dict[str, object]) -> int:
        with self._lock, write_transaction(self._conn) as conn:
            return conn.execute(statement, params).rowcount
