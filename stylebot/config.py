"""Settings read from the environment (every variable is documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"


def _int_set(raw: str) -> frozenset[int]:
    return frozenset(int(part) for part in raw.replace(",", " ").split() if part.strip())


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the bot, the workers and the CLI read from the environment."""

    token: str = ""
    api_url: str = TELEGRAM_API_URL
    file_url: str = TELEGRAM_FILE_URL
    data_dir: Path = Path("data")
    presets_dir: Path | None = None
    weights: str = "imagenet"
    workers: int = 1
    admins: frozenset[int] = field(default_factory=frozenset)
    allowed_users: frozenset[int] = field(default_factory=frozenset)
    allowed_chats: frozenset[int] = field(default_factory=frozenset)
    default_size: int = 512
    max_size: int = 1024
    default_iterations: int = 200
    max_queued_per_user: int = 3
    max_jobs_per_day: int = 50
    job_time_limit_s: float = 600.0
    max_attempts: int = 3
    lease_s: float = 30.0
    metrics_port: int = 0  # > 0: the bot serves Prometheus metrics on metrics_addr:metrics_port
    metrics_addr: str = "0.0.0.0"
    status_interval_s: float = 3.0
    heartbeat_s: float = 1.0  # how often a worker renews its lease and writes progress
    preview_interval_s: float = 5.0  # how often a worker writes a preview image
    shutdown_grace_s: float = 20.0  # how long a stopping worker lets its current job run on

    @property
    def db_path(self) -> Path:
        return self.data_dir / "stylebot.sqlite3"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read `STYLEBOT_*` variables; anything unset keeps its default."""
        env = dict(os.environ if env is None else env)

        def get(name: str, default: str = "") -> str:
            return env.get(f"STYLEBOT_{name}", default).strip()

        presets = get("PRESETS_DIR")
        return cls(
            token=get("TOKEN"),
            api_url=get("API_URL") or TELEGRAM_API_URL,
            file_url=get("FILE_URL") or TELEGRAM_FILE_URL,
            data_dir=Path(get("DATA_DIR", "data")),
            presets_dir=Path(presets) if presets else None,
            weights=get("WEIGHTS", "imagenet"),
            workers=int(get("WORKERS", "1")),
            admins=_int_set(get("ADMINS")),
            allowed_users=_int_set(get("ALLOWED_USERS")),
            allowed_chats=_int_set(get("ALLOWED_CHATS")),
            default_size=int(get("DEFAULT_SIZE", "512")),
            max_size=int(get("MAX_SIZE", "1024")),
            default_iterations=int(get("ITERATIONS", "200")),
            max_queued_per_user=int(get("MAX_QUEUED_PER_USER", "3")),
            max_jobs_per_day=int(get("MAX_JOBS_PER_DAY", "50")),
            job_time_limit_s=float(get("JOB_TIME_LIMIT", "600")),
            max_attempts=int(get("MAX_ATTEMPTS", "3")),
            lease_s=float(get("LEASE_SECONDS", "30")),
            metrics_port=int(get("METRICS_PORT", "0")),
            metrics_addr=get("METRICS_ADDR", "0.0.0.0"),
            status_interval_s=float(get("STATUS_INTERVAL", "3")),
            heartbeat_s=float(get("HEARTBEAT_SECONDS", "1")),
            preview_interval_s=float(get("PREVIEW_SECONDS", "5")),
            shutdown_grace_s=float(get("SHUTDOWN_GRACE", "20")),
        )

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins


def env_flag(name: str) -> bool:
    return _bool(os.environ.get(name, ""))
