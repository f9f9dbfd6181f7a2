"""The narrow interfaces of the job system: the bot's side and the workers' side.

Nothing else crosses between the bot and the engine. `jobs.bot_stores.open_bot_stores` gives the bot's side on
SQLite or Postgres; `jobs.queue.open_worker_queue` the workers' side; pictures go through `jobs.storage.Storage`.
"""

from __future__ import annotations

from typing import Protocol

from jobs.identities import Platform
from jobs.models import (
    DeliveryRecord,
    EnqueueResult,
    ErrorCode,
    JobLimits,
    JobOutcome,
    JobState,
    JobStatus,
    NewJob,
    PendingPhoto,
    Preferences,
    Preset,
    QueueStats,
)


class BotQueue(Protocol):
    """What the bot may do with jobs (all async; never blocks the event loop)."""

    async def enqueue(self, job: NewJob, limits: JobLimits | None = None) -> EnqueueResult:
        """Record a request and queue its job; the same (chat_id, message_id) never makes a second job. With
        `limits`, a new job that would break one raises LimitReached (checked atomically with the insert)."""
        ...

    async def count_sketch_only(self, user_id: int, limits: JobLimits) -> None:
        """Count an answer with a sketch alone toward the user's daily jobs (LimitReached past the limit)."""
        ...

    async def recorded(self, chat_id: int, message_id: int) -> bool:
        """Whether a request was already recorded under this message."""
        ...

    async def status(self, job_id: int) -> JobStatus | None:
        """The job's state, progress and queue position (cheap: safe to call every few seconds)."""
        ...

    async def active(self, platform: Platform | None = None) -> list[JobStatus]:
        """Queued and running jobs in the order they run (positions count every platform's); only `platform`'s
        when given."""
        ...

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job now, or ask the worker to stop a running one; False if already finished."""
        ...

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        """Remember the chat message that shows this job's progress."""
        ...

    async def undelivered(self, platform: Platform | None = None) -> list[JobStatus]:
        """Finished jobs (done, failed, cancelled) whose outcome the chat has not been told yet; only `platform`'s
        when given."""
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

    async def count_waiting(self) -> int:
        """Queued jobs of all users."""
        ...

    async def count_today(self, user_id: int) -> int:
        """Jobs the user created in the last 24 hours (kept through /forget)."""
        ...

    async def forget_user(self, user_id: int) -> int:
        """Delete the user's jobs, requests, settings and pictures; returns the number of jobs removed."""
        ...

    async def stats(self) -> QueueStats:
        """Queue length, jobs today, median time (for admins)."""
        ...

    async def live_workers(self, max_age_s: float) -> int:
        """Workers that reported within max_age_s, on any machine."""
        ...

    async def running_jobs(self) -> list[JobStatus]:
        """Every running job in full (for the delivery loop: a handful, one per worker)."""
        ...

    async def queued_after(self, after_id: int, limit: int = 1000) -> list[tuple[int, JobStatus]]:
        """(turn, job) of up to `limit` queued jobs with an id above after_id, by id; positions are left 0."""
        ...

    async def queued_keys(self) -> list[tuple[int, int]]:
        """(turn, id) of every queued job, in the order they run (cheap: read from an index)."""
        ...


class WorkerQueue(Protocol):
    """What a worker process may do with a job it runs (synchronous: a worker is a plain process)."""

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
        """Extend the lease and record progress; False when the job was cancelled or the lease was lost."""
        ...

    def finish(self, job_id: int, worker_id: str, outcome: JobOutcome) -> None:
        """Mark the job done with its result."""
        ...

    def fail(
        self, job_id: int, worker_id: str, code: ErrorCode, details: str = "", *, retry: bool = False
    ) -> JobState | None:
        """Record a failure by its code; retry queues it again while attempts remain; returns the new state."""
        ...

    def delay(self, job_id: int, worker_id: str, code: ErrorCode, details: str = "") -> float | None:
        """Put the job back to run again after a back-off (e.g. its result could not be stored); the wait, or None."""
        ...

    def mark_cancelled(self, job_id: int, worker_id: str) -> None:
        """Record that a running job stopped because its cancel was requested."""
        ...

    def release(self, job_id: int, worker_id: str) -> JobState | None:
        """Hand a running job back to the queue (the worker is shutting down); the attempt does not count."""
        ...

    def worker_seen(self, worker_id: str, job_id: int | None = None) -> None:
        """Record that this worker is alive (and which job it paints)."""
        ...


class PresetStore(Protocol):
    """Named style images: global ones (presets directory and admins' /addpreset) and per-chat ones."""

    async def list(self, chat_id: int) -> list[Preset]:
        """Global presets and this chat's, sorted by name (a chat preset hides a global one of that name)."""
        ...

    async def get(self, name: str, chat_id: int) -> Preset | None:
        """The chat's preset of that name, else the global one (names are case-insensitive)."""
        ...

    async def add(
        self,
        name: str,
        data: bytes,
        suffix: str,
        *,
        chat_id: int | None,
        added_by: int | None,
        max_per_chat: int | None = None,
    ) -> Preset:
        """Store the picture and save (or replace) a preset; chat_id None makes it global. A new name past the
        chat's `max_per_chat` raises LimitReached (counted atomically with the insert)."""
        ...

    async def count(self, chat_id: int) -> int:
        """How many presets this chat saved for itself."""
        ...

    async def delete(self, name: str, chat_id: int) -> bool:
        """Delete this chat's preset of that name; False when it has none."""
        ...

    async def delete_chat(self, chat_id: int) -> int:
        """Delete every preset this chat saved; returns how many."""
        ...


class PreferencesStore(Protocol):
    """Per-user settings."""

    async def get(self, user_id: int) -> Preferences:
        """The user's settings (defaults when none were saved)."""
        ...

    async def update(self, user_id: int, **changes: object) -> Preferences:
        """Change some fields and return the new settings."""
        ...


class ChatStateStore(Protocol):
    """The bot's chat state: a photo waiting for its style, and the log of delivered outcomes."""

    async def get_pending(self, chat_id: int, user_id: int, max_age_s: float) -> PendingPhoto | None: ...

    async def set_pending(self, chat_id: int, user_id: int, image_key: str, message_id: int) -> None: ...

    async def mark_pending_used(self, chat_id: int, user_id: int) -> None: ...

    async def uploaded_today(self, user_id: int) -> int:
        """Bytes of pictures stored for the user in the last 24 hours (kept through /forget)."""
        ...

    async def record_upload(self, user_id: int, size: int, *, max_bytes: int | None = None) -> None:
        """Count a picture about to be stored; LimitReached when the last day's bytes would pass `max_bytes`."""
        ...

    async def clear_pending(self, chat_id: int, user_id: int) -> bool: ...

    async def delivery(self, job_id: int) -> DeliveryRecord | None: ...

    async def record_delivery(
        self, job_id: int, chat_id: int, user_id: int, message_id: int | None, file_id: str | None, caption: str
    ) -> None: ...

    async def recent_results(self, user_id: int, limit: int = 20) -> list[DeliveryRecord]: ...

    async def choose_style(self, chat_id: int, user_id: int, preset: str) -> None: ...

    async def take_chosen_style(self, chat_id: int, user_id: int, max_age_s: float) -> str | None: ...

    async def forget_user(self, user_id: int) -> None: ...
