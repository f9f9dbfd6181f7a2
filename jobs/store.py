"""The bot's side of the job system on the SQLite file: requests, jobs, presets and settings (aiosqlite)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import time
from pathlib import Path
from types import TracebackType

from jobs import files, sql
from jobs.db import AsyncDb, connect_async
from jobs.migrate import apply_migrations
from jobs.models import EnqueueResult, JobParams, JobState, JobStatus, NewJob, QueueStats
from jobs.presets import SqlitePresetStore
from jobs.user_settings import SqliteSettingsStore
from stylebot.config import Settings

DAY_S = 24 * 3600.0


def _path(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


def row_to_status(row: sqlite3.Row, position: int = 0) -> JobStatus:
    """A `SELECT_JOBS` row as the bot sees it."""
    total = row["total_iterations"]
    return JobStatus(
        id=row["id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        message_id=row["message_id"],
        state=JobState(row["state"]),
        params=JobParams.from_json(row["params"]),
        style_name=row["style_name"],
        user_name=row["user_name"],
        chat_type=row["chat_type"],
        created_at=row["created_at"],
        position=position,
        progress=min(1.0, row["iteration"] / total) if total else 0.0,
        iteration=row["iteration"],
        total_iterations=total,
        eta_s=row["eta_s"],
        attempts=row["attempts"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        status_message_id=row["status_message_id"],
        preview_path=_path(row["preview_path"]),
        preview_version=row["preview_version"],
        result_path=_path(row["result_path"]),
        result_width=row["result_width"],
        result_height=row["result_height"],
        seconds=row["seconds"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        content_path=_path(row["content_path"]),
        style_paths=tuple(Path(p) for p in json.loads(row["style_paths"])),
        reply_to_message_id=row["reply_to_message_id"],
        outcome=JobState(row["outcome"]) if row["outcome"] else None,
    )


class SqliteJobStore:
    """`BotQueue` on SQLite."""

    def __init__(self, db: AsyncDb, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    async def enqueue(self, job: NewJob) -> EnqueueResult:
        """Record the request and queue its job, once per (chat_id, message_id)."""
        now = time.time()
        async with self._db.transaction() as tx:
            await tx.execute(sql.UPSERT_CHAT, (job.chat_id, job.chat_type, now))
            await tx.execute(sql.UPSERT_USER, (job.user_id, job.user_name, now))
            request = await tx.fetchone(
                sql.INSERT_REQUEST, (job.chat_id, job.message_id, job.user_id, job.reply_to_message_id, now)
            )
            if request is None:
                existing = await tx.fetchone(sql.JOB_FOR_REQUEST, (job.chat_id, job.message_id))
                assert existing is not None  # a request row always has its job (same transaction)
                job_id, created = int(existing["id"]), False
            else:
                inserted = await tx.fetchall(
                    sql.INSERT_JOB,
                    (
                        request["id"],
                        job.user_id,
                        job.params.to_json(),
                        job.style_name,
                        str(job.content_path),
                        json.dumps([str(p) for p in job.style_paths]),
                        now,
                    ),
                )
                job_id, created = int(inserted[0]["id"]), True
        status = await self.status(job_id)
        return EnqueueResult(job_id=job_id, created=created, position=status.position if status else 0)

    async def status(self, job_id: int) -> JobStatus | None:
        """The job with its queue position (two indexed reads)."""
        row = await self._db.fetchone(sql.JOB_BY_ID, (job_id,))
        if row is None:
            return None
        position = 0
        if row["state"] == JobState.QUEUED:
            counted = await self._db.fetchone(sql.QUEUE_POSITION, (job_id,))
            position = int(counted[0]) if counted else 0
        return row_to_status(row, position)

    async def active(self) -> list[JobStatus]:
        """Queued and running jobs, oldest first, with positions (the same rule as `sql.QUEUE_POSITION`)."""
        rows = await self._db.fetchall(sql.ACTIVE_JOBS)
        result: list[JobStatus] = []
        queued = 0
        for row in rows:
            if row["state"] == JobState.QUEUED:
                queued += 1
                result.append(row_to_status(row, queued))
            else:
                result.append(row_to_status(row))
        return result

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job now, or flag a running one for its worker (it stops within a heartbeat)."""
        return await self._db.write(sql.CANCEL, {"id": job_id, "now": time.time()}) > 0

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        await self._db.write(sql.SET_STATUS_MESSAGE, (message_id, job_id))

    async def undelivered(self) -> list[JobStatus]:
        """Finished jobs the chat has not been told about yet, oldest first."""
        return [row_to_status(row) for row in await self._db.fetchall(sql.UNDELIVERED_JOBS)]

    async def mark_delivered(self, job_id: int) -> bool:
        """True only for the call that moved the job to delivered."""
        return await self._db.write(sql.MARK_DELIVERED, (time.time(), job_id)) > 0

    async def history(self, user_id: int, limit: int = 10) -> list[JobStatus]:
        return [row_to_status(row) for row in await self._db.fetchall(sql.USER_HISTORY, (user_id, limit))]

    async def count_active(self, user_id: int) -> int:
        row = await self._db.fetchone(sql.COUNT_ACTIVE, (user_id,))
        return int(row[0]) if row else 0

    async def count_today(self, user_id: int) -> int:
        row = await self._db.fetchone(sql.COUNT_CREATED_SINCE, (user_id, time.time() - DAY_S))
        return int(row[0]) if row else 0

    async def forget_user(self, user_id: int) -> int:
        """Delete the user's rows (one transaction), then their files."""
        async with self._db.transaction() as tx:
            counted = await tx.fetchone(sql.COUNT_USER_JOBS, (user_id,))
            rows = await tx.fetchall(sql.USER_FILES, (user_id,))
            await tx.execute(sql.CLEAR_PRESET_AUTHOR, (user_id,))
            await tx.execute(sql.DELETE_USER, (user_id,))
        paths: list[Path] = []
        for row in rows:
            paths.append(Path(row["content_path"]))
            paths.extend(Path(p) for p in json.loads(row["style_paths"]))
            paths.extend(Path(p) for p in (row["preview_path"], row["result_path"]) if p)
        await asyncio.to_thread(files.remove_user_files, self._settings.files_dir, user_id, paths)
        return int(counted[0]) if counted else 0

    async def stats(self) -> QueueStats:
        since = time.time() - DAY_S
        counts = await self._db.fetchone(sql.STATS_COUNTS, {"since": since})
        seconds = [row[0] for row in await self._db.fetchall(sql.DONE_SECONDS_SINCE, (since,))]
        assert counts is not None
        return QueueStats(
            queued=counts["queued"],
            running=counts["running"],
            jobs_today=counts["jobs_today"],
            failed_today=counts["failed_today"],
            median_seconds=statistics.median(seconds) if seconds else None,
        )


class Database:
    """The bot's stores on one connection: `.jobs` (BotQueue), `.presets` and `.settings` (SettingsStore)."""

    jobs: SqliteJobStore
    presets: SqlitePresetStore
    settings: SqliteSettingsStore

    def __init__(self, config: Settings) -> None:
        self.config = config
        self._db: AsyncDb | None = None

    async def open(self) -> Database:
        """Apply pending migrations, then open the connection (nothing blocks the event loop)."""
        await asyncio.to_thread(apply_migrations, self.config.db_path)
        self._db = AsyncDb(await connect_async(self.config.db_path))
        self.jobs = SqliteJobStore(self._db, self.config)
        self.presets = SqlitePresetStore(self._db, self.config)
        self.settings = SqliteSettingsStore(self._db)
        return self

    @property
    def connection(self) -> AsyncDb:
        """The one connection, for other stores of this process (the bot's chat state)."""
        assert self._db is not None, "open() first"
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def open_store(settings: Settings) -> Database:
    """`async with open_store(settings) as db:` gives `db.jobs`, `db.presets` and `db.settings`."""
    return Database(settings)
