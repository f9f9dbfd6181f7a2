"""Plain data that crosses the job interfaces (no I/O here)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
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
    OUT_OF_MEMORY = "out_of_memory"
    TIME_LIMIT = "time_limit"
    WORKER_LOST = "worker_lost"
    INTERNAL = "internal"


@dataclass(frozen=True)
class JobParams:
    """What the engine is asked to do; stored as JSON with the job."""

    max_side: int = 512
    iterations: int = 200
    strength: float = 1.0
    preserve_colors: bool = False
    quality: str = "balanced"  # "fast" | "balanced" | "best"
    style_weights: tuple[float, ...] | None = None
    seed: int = 0

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
    """One request from a chat, as the bot hands it over (the images are already on disk)."""

    chat_id: int
    user_id: int
    message_id: int  # the request's message: (chat_id, message_id) is unique
    content_path: Path
    style_paths: tuple[Path, ...]
    params: JobParams
    style_name: str = ""  # preset name, or "" for a user's own style photo
    user_name: str = ""
    chat_type: str = "private"
    reply_to_message_id: int | None = None


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
    preview_path: Path | None = None
    preview_version: int = 0
    result_path: Path | None = None
    result_width: int = 0
    result_height: int = 0
    seconds: float = 0.0
    error_code: str | None = None
    error_message: str | None = None
    content_path: Path | None = None
    style_paths: tuple[Path, ...] = ()
    reply_to_message_id: int | None = None
    outcome: JobState | None = None  # done, failed or cancelled once finished (kept after delivery)


@dataclass(frozen=True)
class ClaimedJob:
    """A job as a worker receives it."""

    id: int
    attempt: int
    content_path: Path
    style_paths: tuple[Path, ...]
    params: JobParams
    work_dir: Path  # where the worker writes previews and the result
    user_id: int = 0
    created_at: float = 0.0


@dataclass(frozen=True)
class JobOutcome:
    result_path: Path
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
    path: Path
    chat_id: int | None  # None: a global preset
    added_by: int | None = None


@dataclass(frozen=True)
class UserSettings:
    strength: float = 1.0
    max_side: int = 512
    preserve_colors: bool = False
    quality: str = "balanced"  # "fast" | "balanced" | "best"
