"""The bot's side of the job system: requests, jobs, positions, cancel, delivery, history (either database)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from sqlalchemy import RowMapping

from jobs import keys, sql
from jobs.database import Database, Transaction
from jobs.identities import Platform, id_range, platform_of
from jobs.models import (
    EnqueueResult,
    JobLimits,
    JobParams,
    JobState,
    JobStatus,
    LimitKind,
    LimitReached,
    NewJob,
    QueueStats,
)
from jobs.queue import Dispatch
from jobs.storage import DeleteFailed, Storage

DAY_S = 24 * 3600.0
FORGET_STOP_S = 30.0  # how long /forget waits for the user's running jobs to stop before deleting their pictures
FORGET_POLL_S = 0.2
DELETE_TRIES = 3  # a failed deletion of pictures is tried this many times (a growing pause between tries)


class ForgetIncomplete(Exception):
    """The user's rows are deleted, but some of their pictures could not be: the retention sweep deletes them (a
    user's pictures are kept only while a row of theirs exists)."""

    def __init__(self, removed: int, reason: str) -> None:
        super().__init__(reason)
        self.removed = removed
ENQUEUE_LOCK = "stylebot:enqueue"  # one lock for every enqueue: the global queue cap counts all users' jobs


async def _check_limits(tx: Transaction, limits: JobLimits, user_id: int, now: float) -> None:
    """Raise LimitReached when one more job would break a limit (read under the transaction's lock)."""
    waiting = int(await tx.scalar(sql.COUNT_WAITING) or 0)
    if waiting >= limits.max_waiting:
        raise LimitReached(LimitKind.WAITING, waiting, limits.max_waiting)
    if limits.max_active is not None:
        active = int(await tx.scalar(sql.COUNT_ACTIVE, {"user": user_id}) or 0)
        if active >= limits.max_active:
            raise LimitReached(LimitKind.ACTIVE, active, limits.max_active)
    await _check_daily(tx, limits, user_id, now)


async def _check_daily(tx: Transaction, limits: JobLimits, user_id: int, now: float) -> None:
    if limits.max_per_day is not None:
        today = int(await tx.scalar(sql.COUNT_CREATED_SINCE, {"user": user_id, "since": now - DAY_S}) or 0)
        if today >= limits.max_per_day:
            raise LimitReached(LimitKind.DAILY, today, limits.max_per_day)


def row_to_status(row: RowMapping, position: int = 0) -> JobStatus:
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
        preview_key=row["preview_key"],
        preview_version=row["preview_version"],
        result_key=row["result_key"],
        result_width=row["result_width"],
        result_height=row["result_height"],
        seconds=row["seconds"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        content_key=row["content_key"],
        style_keys=tuple(json.loads(row["style_keys"])),
        reply_to_message_id=row["reply_to_message_id"],
        outcome=JobState(row["outcome"]) if row["outcome"] else None,
        not_before=row["not_before"],
        language=row["language"],
    )


class SqlBotQueue:
    """`BotQueue` on either database."""

    def __init__(self, db: Database, storage: Storage, dispatch: Dispatch) -> None:
        self._db = db
        self._storage = storage
        self._dispatch = dispatch

    async def enqueue(self, job: NewJob, limits: JobLimits | None = None) -> EnqueueResult:
        """Record the request and queue its job, once per (chat_id, message_id). With `limits`, a new job is counted
        against them under a lock in the same transaction (LimitReached, and nothing recorded, when one is
        reached), so requests sent at once never add up to more than the limits."""
        now = time.time()
        async with self._db.transaction() as tx:
            if limits is not None:
                await tx.lock(ENQUEUE_LOCK)
            await tx.execute(sql.UPSERT_CHAT, {"chat": job.chat_id, "type": job.chat_type, "now": now})
            await tx.execute(sql.UPSERT_USER, {"user": job.user_id, "name": job.user_name, "now": now})
            request = await tx.fetchone(
                sql.INSERT_REQUEST,
                {
                    "chat": job.chat_id,
                    "message": job.message_id,
                    "user": job.user_id,
                    "reply_to": job.reply_to_message_id,
                    "language": job.language,
                    "now": now,
                },
            )
            if request is None:
                existing = await tx.fetchone(sql.JOB_FOR_REQUEST, {"chat": job.chat_id, "message": job.message_id})
                assert existing is not None  # a request row always has its job (same transaction)
                job_id, created, turn = int(existing["id"]), False, int(existing["turn"])
                queued = existing["state"] == JobState.QUEUED
            else:
                if limits is not None:
                    await _check_limits(tx, limits, job.user_id, now)
                turn = int(await tx.scalar(sql.NEXT_TURN, {"user": job.user_id}) or 0)
                job_id, created, queued = await self._insert_job(tx, request["id"], job, turn, now), True, True
                await tx.execute(sql.LOG_JOB, {"user": job.user_id, "now": now})
            position = int(await tx.scalar(sql.QUEUE_POSITION, {"turn": turn, "id": job_id}) or 0) if queued else 0
        return EnqueueResult(job_id=job_id, created=created, position=position)

    async def _insert_job(self, tx: Transaction, request_id: int, job: NewJob, turn: int, now: float) -> int:
        inserted = await tx.fetchone(
            sql.INSERT_JOB,
            {
                "request": request_id,
                "user": job.user_id,
                "params": job.params.to_json(),
                "style_name": job.style_name,
                "content_key": job.content_key,
                "style_keys": json.dumps(list(job.style_keys)),
                "turn": turn,
                "now": now,
            },
        )
        assert inserted is not None
        job_id = int(inserted["id"])
        queue_job_id = await self._dispatch.enqueued(tx, job_id, job.user_id, turn)
        if queue_job_id is not None:
            await tx.execute(sql.SET_QUEUE_JOB_ID, {"id": job_id, "queue_job_id": queue_job_id})
        return job_id

    async def count_sketch_only(self, user_id: int, limits: JobLimits) -> None:
        """Count an answer with a sketch alone (no painting) toward the user's daily jobs, under the same lock as
        `enqueue`; LimitReached when the day's limit is reached."""
        now = time.time()
        async with self._db.transaction() as tx:
            await tx.lock(ENQUEUE_LOCK)
            await _check_daily(tx, limits, user_id, now)
            await tx.execute(sql.LOG_JOB, {"user": user_id, "now": now})

    async def recorded(self, chat_id: int, message_id: int) -> bool:
        """Whether a request was already recorded under this message (Telegram may deliver an update twice)."""
        return await self._db.fetchone(sql.JOB_FOR_REQUEST, {"chat": chat_id, "message": message_id}) is not None

    async def status(self, job_id: int) -> JobStatus | None:
        """The job with its queue position (two indexed reads)."""
        row = await self._db.fetchone(sql.JOB_BY_ID, {"id": job_id})
        if row is None:
            return None
        position = 0
        if row["state"] == JobState.QUEUED:
            position = int(await self._db.scalar(sql.QUEUE_POSITION, {"turn": row["turn"], "id": job_id}) or 0)
        return row_to_status(row, position)

    async def active(self, platform: Platform | None = None) -> list[JobStatus]:
        """Queued and running jobs in the order they run, with positions (the rule of `sql.QUEUE_POSITION`: one
        queue for every platform); only `platform`'s chats' jobs when given."""
        result: list[JobStatus] = []
        queued = 0
        for row in await self._db.fetchall(sql.ACTIVE_JOBS):
            if row["state"] == JobState.QUEUED:
                queued += 1
                result.append(row_to_status(row, queued))
            else:
                result.append(row_to_status(row))
        return [job for job in result if platform is None or platform_of(job.chat_id) == platform]

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job now, or ask its worker to stop a running one; False if it already ended."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(sql.CANCEL, {"id": job_id, "now": time.time()})
            if row is None:
                return False
            await self._dispatch.cancelled(tx, row["queue_job_id"])
        return True

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        await self._db.execute(sql.SET_STATUS_MESSAGE, {"message": message_id, "id": job_id})

    async def undelivered(self, platform: Platform | None = None) -> list[JobStatus]:
        """Finished jobs the chat has not been told about yet, oldest first; only `platform`'s when given (each
        front end delivers its own)."""
        low, high = id_range(platform) if platform is not None else (-(2**63), 2**63 - 1)
        rows = await self._db.fetchall(sql.UNDELIVERED_JOBS, {"low": low, "high": high})
        return [row_to_status(row) for row in rows]

    async def mark_delivered(self, job_id: int) -> bool:
        """True only for the call that moved the job to delivered."""
        return await self._db.execute(sql.MARK_DELIVERED, {"now": time.time(), "id": job_id}) > 0

    async def history(self, user_id: int, limit: int = 10) -> list[JobStatus]:
        rows = await self._db.fetchall(sql.USER_HISTORY, {"user": user_id, "limit": limit})
        return [row_to_status(row) for row in rows]

    async def count_active(self, user_id: int) -> int:
        return int(await self._db.scalar(sql.COUNT_ACTIVE, {"user": user_id}) or 0)

    async def count_waiting(self) -> int:
        """Queued jobs of all users (the global queue cap)."""
        return int(await self._db.scalar(sql.COUNT_WAITING) or 0)

    async def count_today(self, user_id: int) -> int:
        return int(await self._db.scalar(sql.COUNT_CREATED_SINCE, {"user": user_id, "since": time.time() - DAY_S}) or 0)

    async def forget_user(self, user_id: int, *, stop_within_s: float = FORGET_STOP_S) -> int:
        """Cancel the user's queued and running jobs and wait (at most stop_within_s) for the running ones to stop,
        so no worker writes a picture of theirs afterwards; then delete their rows (one transaction) and every
        picture under their storage prefix (tried DELETE_TRIES times). Returns the number of jobs removed;
        ForgetIncomplete when pictures are left (see there)."""
        for row in await self._db.fetchall(sql.USER_ACTIVE_JOBS, {"user": user_id}):
            await self.cancel(int(row["id"]))
        for _ in range(max(1, int(stop_within_s / FORGET_POLL_S))):
            if not await self._db.scalar(sql.USER_RUNNING_JOBS, {"user": user_id}):
                break
            await asyncio.sleep(FORGET_POLL_S)
        async with self._db.transaction() as tx:
            counted = int(await tx.scalar(sql.COUNT_USER_JOBS, {"user": user_id}) or 0)
            await tx.execute(sql.CLEAR_PRESET_AUTHOR, {"user": user_id})
            await tx.execute(sql.DELETE_USER, {"user": user_id})
        for attempt in range(DELETE_TRIES):
            try:
                await asyncio.to_thread(self._storage.delete_prefix, keys.user_prefix(user_id))
                return counted
            except DeleteFailed as exc:
                failure = exc
                if attempt + 1 < DELETE_TRIES:
                    await asyncio.sleep(0.5 * 2**attempt)
        raise ForgetIncomplete(counted, str(failure))

    async def stats(self) -> QueueStats:
        since = time.time() - DAY_S
        counts = await self._db.fetchone(sql.STATS_COUNTS, {"since": since})
        seconds = [row["seconds"] for row in await self._db.fetchall(sql.DONE_SECONDS_SINCE, {"since": since})]
        assert counts is not None
        return QueueStats(
            queued=counts["queued"],
            running=counts["running"],
            jobs_today=counts["jobs_today"],
            failed_today=counts["failed_today"],
            median_seconds=statistics.median(seconds) if seconds else None,
        )

    async def live_workers(self, max_age_s: float) -> int:
        """Workers that reported within max_age_s (on any machine)."""
        return int(await self._db.scalar(sql.LIVE_WORKERS, {"since": time.time() - max_age_s}) or 0)

    async def running_jobs(self) -> list[JobStatus]:
        """Every running job in full, by id (a handful: one per worker)."""
        return [row_to_status(row) for row in await self._db.fetchall(sql.DELIVERY_RUNNING)]

    async def queued_after(self, after_id: int, limit: int = 1000) -> list[tuple[int, JobStatus]]:
        """(turn, job) of up to `limit` queued jobs whose id is above after_id, by id (position 0: the caller
        works positions out from the turns)."""
        rows = await self._db.fetchall(sql.DELIVERY_QUEUED_AFTER, {"after": after_id, "limit": limit})
        return [(int(row["turn"]), row_to_status(row)) for row in rows]

    async def queued_keys(self) -> list[tuple[int, int]]:
        """(turn, id) of every queued job in the order they run (an index-only read: two numbers a job)."""
        return [(int(row["turn"]), int(row["id"])) for row in await self._db.fetchall(sql.DELIVERY_QUEUED_KEYS)]
