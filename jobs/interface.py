"""The two narrow interfaces of the job system: the bot's side and the workers' side.

Nothing else crosses between the bot and the engine. The embedded default implements both on one SQLite
file (`jobs.store.SqliteJobStore` for the bot, `jobs.worker_store.SqliteWorkerQueue` for worker processes);
a distributed queue can replace the worker side without the bot noticing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from jobs.models import (
    ClaimedJob,
    EnqueueResult,
    ErrorCode,
    JobOutcome,
    JobStatus,
    NewJob,
    Preset,
    QueueStats,
    UserSettings,
)


class BotQueue(Protocol):
    """What the bot may do with jobs (all async; never blocks the event loop)."""

    async def enqueue(self, job: NewJob) -> EnqueueResult:
        """Record a request and queue its job; the same (chat_id, message_id) never makes a second job."""
        ...

    async def status(self, job_id: int) -> JobStatus | None:
        """The job's state, progress and queue position (cheap: safe to call every few seconds)."""
        ...

    async def active(self) -> list[JobStatus]:
        """Queued and running jobs, oldest first (for refreshing status messages)."""
        ...

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job now, or ask the worker to stop a running one; False if already finished."""
        ...

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        """Remember the chat message that shows this job's progress."""
        ...

    async def undelivered(self) -> list[JobStatus]:
        """Finished jobs (done, failed, cancelled) whose outcome the chat has not been told yet."""
        ...

    async def mark_delivered(self, job_id: int) -> bool:
        """Record that the outcome reached the chat; True only for the first call (deliver exactly once)."""
        ...

    async def history(self, user_id: int, limit: int = 10) -> list[JobStatus]:
        """The user's most recent jobs, newest first."""
        ...

    async def count_active(self, user_id: int) -> int:
        """The user's queued and running jobs."""
        ...

    async def count_today(self, user_id: int) -> int:
        """Jobs the user created in the last 24 hours."""
        ...

    async def forget_user(self, user_id: int) -> int:
        """Delete the user's jobs, requests, settings and image files; returns the number of jobs removed."""
        ...

    async def stats(self) -> QueueStats:
        """Queue length, jobs today, median time (for admins)."""
        ...


class WorkerQueue(Protocol):
    """What a worker process may do with jobs (synchronous: a worker is a plain process)."""

    def claim(self, worker_id: str) -> ClaimedJob | None:
        """Atomically take the next job (FIFO, one running job per user), re-queueing expired leases first."""
        ...

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
        ...

    def finish(self, job_id: int, worker_id: str, outcome: JobOutcome) -> None:
        """Mark the job done with its result."""
        ...

    def fail(self, job_id: int, worker_id: str, code: ErrorCode, message: str, *, retry: bool = False) -> None:
        """Record a failure: a stable code, a message for the user; retry re-queues if attempts remain."""
        ...

    def mark_cancelled(self, job_id: int, worker_id: str) -> None:
        """Record that a running job stopped because its cancel was requested."""
        ...

    def release(self, job_id: int, worker_id: str) -> None:
        """Hand a running job back to the queue (the worker is shutting down); the attempt does not count."""
        ...


class PresetStore(Protocol):
    """Named style images: global ones (presets directory and admins' /addpreset) and per-chat ones."""

    async def list(self, chat_id: int) -> list[Preset]:
        """Global presets and this chat's, sorted by name (a chat preset hides a global one of that name)."""
        ...

    async def get(self, name: str, chat_id: int) -> Preset | None:
        """The chat's preset of that name, else the global one (names are case-insensitive)."""
        ...

    async def add(self, name: str, image_path: Path, *, chat_id: int | None, added_by: int) -> Preset:
        """Save (or replace) a preset; chat_id None makes it global."""
        ...


class SettingsStore(Protocol):
    """Per-user settings."""

    async def get(self, user_id: int) -> UserSettings:
        """The user's settings (defaults when none were saved)."""
        ...

    async def update(self, user_id: int, **changes: object) -> UserSettings:
        """Change some fields and return the new settings."""
        ...
