"""Plain data that crosses the job interfaces (no I/O here)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DELIVERED = "delivered"


FINISHED_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})


class ErrorCode(StrEnum):
    """Stable failure reasons; each job that fails records one of these."""

    BAD_IMAGE = "bad_image"
    UNUSABLE_PICTURE = "unusable_picture"  # it decodes, but can't be painted (a non-finite loss, far too thin)
    OUT_OF_MEMORY = "out_of_memory"
    TIME_LIMIT = "time_limit"
    WORKER_LOST = "worker_lost"
    INTERNAL = "internal"
    # Not failures: the job waits and runs again (see `WorkerQueueBase.delay`).
    STORAGE_FULL = "storage_full"  # its result could not be stored
    STORAGE_UNAVAILABLE = "storage_unavailable"  # its pictures could not be read


# Quality scales the iterations a job runs (the one place these factors are defined).
QUALITY_FACTORS = {"fast": 0.5, "balanced": 1.0, "best": 2.0}
QUALITIES = tuple(QUALITY_FACTORS)
DEFAULT_QUALITY = "balanced"


@dataclass(frozen=True)
class JobParams:
    """What the engine is asked to do; stored as JSON with the job."""

    max_side: int
    iterations: int  # at the "balanced" quality
    strength: float = 1.0
    preserve_colors: bool = False
    quality: str = DEFAULT_QUALITY
    style_weights: tuple[float, ...] | None = None
    seed: int = 0
    style_scale: float = 1.0  # size of the brush strokes relative to the picture

    @property
    def engine_iterations(self) -> int:
        """The iterations the engine runs: `iterations` scaled by the quality."""
        return max(1, round(self.iterations * QUALITY_FACTORS.get(self.quality, 1.0)))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> JobParams:
        data: dict[str, Any] = json.loads(raw)
        if data.get("style_weights") is not None:
            data["style_weights"] = tuple(data["style_weights"])
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class NewJob:
    """One request from a chat, as the bot hands it over (the pictures are already in the storage)."""

    chat_id: int
    user_id: int
    message_id: int  # the request's message: (chat_id, message_id) is unique
    content_key: str
    style_keys: tuple[str, ...]
    params: JobParams
    style_name: str = ""  # preset name, or "" for a user's own style photo
    user_name: str = ""
    chat_type: str = "private"
    reply_to_message_id: int | None = None
    language: str = ""  # the requester's Telegram language_code ("" when unknown)


@dataclass(frozen=True)
class JobLimits:
    """What `BotQueue.enqueue` checks in the transaction that inserts the job (so requests sent at once can't add up
    to more): waiting jobs of all users, and the user's queued-or-running and daily jobs (None: not limited)."""

    max_waiting: int
    max_active: int | None = None
    max_per_day: int | None = None


class LimitKind(StrEnum):
    """Which limit held."""

    WAITING = "waiting"  # the global queue cap
    ACTIVE = "active"  # a user's queued and running jobs
    DAILY = "daily"  # a user's jobs a day
    PRESETS = "presets"  # a chat's saved styles
    UPLOADS = "uploads"  # a user's stored picture bytes a day


class LimitReached(Exception):
    """A limit held where the row would be inserted: `kind` names it, `count` is what there is, `limit` the most."""

    def __init__(self, kind: LimitKind, count: int, limit: int) -> None:
        super().__init__(f"{kind} limit reached: {count} of {limit}")
        self.kind = kind
        self.count = count
        self.limit = limit


@dataclass(frozen=True)
class EnqueueResult:
    job_id: int
    created: bool  # False when (chat_id, message_id) was already recorded
    position: int  # 1 = next to run; 0 = already running or finished


@dataclass(frozen=True)
class JobStatus:
    """A job as the bot sees it."""

    id: int
    chat_id: int
    user_id: int
    message_id: int
    state: JobState
    params: JobParams
    style_name: str
    user_name: str
    chat_type: str
    created_at: float
    position: int = 0
    progress: float = 0.0  # 0..1
    iteration: int = 0
    total_iterations: int = 0
    eta_s: float | None = None
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    status_message_id: int | None = None
    preview_key: str | None = None
    preview_version: int = 0
    result_key: str | None = None
    result_width: int = 0
    result_height: int = 0
    seconds: float = 0.0
    error_code: str | None = None
    error_message: str | None = None  # details for the logs; users are told by error_code
    content_key: str | None = None
    style_keys: tuple[str, ...] = ()
    reply_to_message_id: int | None = None
    outcome: JobState | None = None  # done, failed or cancelled once finished (kept after delivery)
    not_before: float | None = None  # a delayed job waits until then (its error_code says why)
    language: str = ""  # the requester's Telegram language_code


@dataclass(frozen=True)
class ClaimedJob:
    """A job as a worker receives it."""

    id: int
    attempt: int
    user_id: int
    content_key: str
    style_keys: tuple[str, ...]
    params: JobParams
    result_key: str  # where the worker writes the result (fixed per job: a re-run overwrites it)
    preview_key: str
    timelapse_key: str
    created_at: float = 0.0


@dataclass(frozen=True)
class JobOutcome:
    result_key: str
    width: int
    height: int
    iterations: int
    evaluations: int
    seconds: float
    content_loss: float
    style_loss: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueStats:
    queued: int
    running: int
    jobs_today: int
    failed_today: int
    median_seconds: float | None


@dataclass(frozen=True)
class Preset:
    name: str
    image_key: str
    chat_id: int | None  # None: a global preset
    added_by: int | None = None


@dataclass(frozen=True)
class Preferences:
    strength: float = 1.0
    max_side: int | None = None  # None: the bot's default size (STYLEBOT_DEFAULT_SIZE)
    preserve_colors: bool = False
    quality: str = DEFAULT_QUALITY
    style_scale: float = 1.0  # stroke size: below 1 finer, above 1 broader
    sketch_only: bool = False  # answer with the instant sketch alone, without waiting in the painting queue


@dataclass(frozen=True)
class PendingPhoto:
    """A content photo waiting for its style."""

    chat_id: int
    user_id: int
    image_key: str
    message_id: int
    used: bool  # a job was already made from it: a new photo replaces it instead of becoming its style
    created_at: float


@dataclass(frozen=True)
class DeliveryRecord:
    """The record of a job's outcome reaching its chat (so a restart never sends it twice)."""

    job_id: int
    chat_id: int
    user_id: int
    message_id: int | None
    file_id: str | None  # the sent photo's, for inline sharing
    caption: str
    delivered_at: float
