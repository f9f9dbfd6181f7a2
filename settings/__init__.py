"""The deployment's settings, read from the environment (every variable is documented in the README).

This package is a leaf: it imports nothing of ours, and everything may import it. Each field names its variable
(`STYLEBOT_<env>`) in its metadata; its default is the one place that default is written, and `from_env` is the
one place a `STYLEBOT_*` variable is read. (A user's own choices, set with /settings, are `Preferences`.)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"
DISCORD_API_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
ENV_PREFIX = "STYLEBOT_"


def _int_set(raw: str) -> frozenset[int]:
    return frozenset(int(part) for part in raw.replace(",", " ").split() if part.strip())


def _env(name: str, default: Any, **extra: Any) -> Any:
    """A field read from STYLEBOT_<name>."""
    if isinstance(default, frozenset):
        return field(default_factory=frozenset, metadata={"env": name, **extra})
    return field(default=default, metadata={"env": name, **extra})


@dataclass(frozen=True)
class Settings:
    """Everything the bot, the workers and the CLI read from the environment."""

    token: str = _env("TOKEN", "", secret=True)
    api_url: str = _env("API_URL", TELEGRAM_API_URL)
    file_url: str = _env("FILE_URL", TELEGRAM_FILE_URL)
    discord_token: str = _env("DISCORD_TOKEN", "", secret=True)  # set: the Discord front end runs too
    discord_api_url: str = _env("DISCORD_API_URL", DISCORD_API_URL)  # REST base, with its /api/v10
    discord_gateway_url: str = _env("DISCORD_GATEWAY_URL", DISCORD_GATEWAY_URL)
    data_dir: Path = _env("DATA_DIR", Path("data"))
    # "": the SQLite file in data_dir; else a postgresql:// URL (the queue then runs on procrastinate)
    database_url: str = _env("DATABASE_URL", "")
    storage_url: str = _env("STORAGE_URL", "")  # "": the files folder in data_dir; else s3://BUCKET/PREFIX
    presets_dir: Path | None = _env("PRESETS_DIR", None, parse=Path)  # adds to the built-in presets
    builtin_presets: bool = _env("BUILTIN_PRESETS", True)  # starry, scream, shipwreck and hat (bot/core/presets/)
    sketch: bool = _env("SKETCH", True)  # an instant sketch in the chosen style while the painting is made
    weights: str = _env("WEIGHTS", "imagenet")
    workers: int = _env("WORKERS", 1)
    admins: frozenset[int] = _env("ADMINS", frozenset())
    allowed_users: frozenset[int] = _env("ALLOWED_USERS", frozenset())
    allowed_chats: frozenset[int] = _env("ALLOWED_CHATS", frozenset())
    default_size: int = _env("DEFAULT_SIZE", 512)
    max_size: int = _env("MAX_SIZE", 1024)
    default_iterations: int = _env("ITERATIONS", 200)
    max_queued_per_user: int = _env("MAX_QUEUED_PER_USER", 3)
    max_jobs_per_day: int = _env("MAX_JOBS_PER_DAY", 50)
    max_queue: int = _env("MAX_QUEUE", 1000)  # waiting jobs of all users; beyond it new requests are turned away
    max_presets_per_chat: int = _env("MAX_PRESETS_PER_CHAT", 30)
    # Bytes of pictures one user may have the bot store in 24 hours (admins: no limit); /forget does not reset it.
    max_upload_bytes_per_day: int = _env("MAX_UPLOAD_BYTES_PER_DAY", 200 * 1024 * 1024)
    job_time_limit_s: float = _env("JOB_TIME_LIMIT", 600.0)
    max_attempts: int = _env("MAX_ATTEMPTS", 3)
    lease_s: float = _env("LEASE_SECONDS", 15.0)  # a worker silent this long has died: its job runs again
    heartbeat_s: float = _env("HEARTBEAT_SECONDS", 1.0)  # how often a worker renews its lease and writes progress
    preview_interval_s: float = _env("PREVIEW_SECONDS", 5.0)  # how often a worker writes a preview image
    status_interval_s: float = _env("STATUS_INTERVAL", 3.0)
    shutdown_grace_s: float = _env("SHUTDOWN_GRACE", 20.0)  # how long a stopping worker lets its job run on
    retention_days: float = _env("RETENTION_DAYS", 30.0)  # pictures and finished jobs older than this are deleted
    prune_interval_s: float = _env("PRUNE_SECONDS", 6 * 3600.0)  # how often the bot runs the retention sweep
    # "bfloat16": the convolutions in bfloat16 (the losses and optimiser stay float32); "auto": bfloat16 on a CPU with
    # AMX (about 2.6x faster there), float32 elsewhere
    precision: str = _env("PRECISION", "auto")
    warm_up: bool = _env("WARM_UP", True)  # workers trace/compile the commonest sizes at start, in the background
    # A result that can't be stored (disk full) is retried after this, doubling each time (at most an hour).
    storage_retry_s: float = _env("STORAGE_RETRY_SECONDS", 60.0)
    metrics_port: int = _env("METRICS_PORT", 0)  # > 0: the bot serves Prometheus metrics there
    metrics_addr: str = _env("METRICS_ADDR", "0.0.0.0")
    log_level: str = _env("LOG_LEVEL", "INFO")
    # A UTF-8 plain-text file /privacy sends instead of the built-in (translated) text; read once at start-up.
    privacy_file: Path | None = _env("PRIVACY_FILE", None, parse=Path)
    # Set: Telegram pushes updates to this public URL (https://…, its path is the one served) instead of polling.
    webhook_url: str = _env("WEBHOOK_URL", "")
    webhook_listen: str = _env("WEBHOOK_LISTEN", "127.0.0.1")  # the webhook server's address and port
    webhook_port: int = _env("WEBHOOK_PORT", 8443)
    # What Telegram sends in X-Telegram-Bot-Api-Secret-Token; "": a random one made at each start.
    webhook_secret: str = _env("WEBHOOK_SECRET", "", secret=True)
    # GPU ids the local workers are spread over (each worker gets one through CUDA_VISIBLE_DEVICES); "": no pinning.
    gpus: str = _env("GPUS", "")
    # A folder holding `sqlite/` and `postgresql/` migrations instead of the installed `migrations` package's.
    migrations_dir: Path | None = _env("MIGRATIONS_DIR", None, parse=Path)
    # "module:callable" building the workers' engine instead of the real one (tests and benchmarks).
    engine_factory: str = _env("ENGINE_FACTORY", "")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "stylebot.sqlite3"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def database(self) -> str:
        """The database URL: STYLEBOT_DATABASE_URL, or the embedded SQLite file."""
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def storage(self) -> str:
        """Where pictures live: STYLEBOT_STORAGE_URL (s3://…), or the local files folder."""
        return self.storage_url or str(self.files_dir)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the `STYLEBOT_*` variables; anything unset (or empty) keeps its default."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            name = ENV_PREFIX + spec.metadata["env"]
            raw = env.get(name, "").strip()
            if raw:
                try:
                    values[spec.name] = _parser(spec)(raw)
                except ValueError:
                    raise SettingsError(f"{name}={raw!r} is not {_expected(spec)}") from None
        return cls(**values)

    def to_env(self, *, secrets: bool = True) -> dict[str, str]:
        """The variables that make another process read these same settings; `secrets=False` leaves out the bot's
        own secrets (`SECRET_VARIABLES`), which a worker never needs."""
        result: dict[str, str] = {}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if value is None or (not secrets and spec.metadata.get("secret")):
                continue
            text = ",".join(map(str, sorted(value))) if isinstance(value, frozenset) else str(value)
            result[ENV_PREFIX + spec.metadata["env"]] = text
        return result

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    @property
    def gpu_ids(self) -> list[str]:
        """STYLEBOT_GPUS as a list (empty: the workers are not pinned to GPUs)."""
        return [g.strip() for g in self.gpus.split(",") if g.strip()]


class SettingsError(ValueError):
    """A STYLEBOT_* variable holds something unusable; the message names it."""


def _expected(spec: dataclasses.Field[Any]) -> str:
    default = getattr(DEFAULTS, spec.name)
    if isinstance(default, frozenset):
        return "a list of whole numbers (e.g. 12,34)"
    return {int: "a whole number", float: "a number"}.get(type(default), "valid")


def _parser(spec: dataclasses.Field[Any]) -> Callable[[str], Any]:
    if "parse" in spec.metadata:
        parse: Callable[[str], Any] = spec.metadata["parse"]
        return parse
    default = getattr(DEFAULTS, spec.name)
    if isinstance(default, frozenset):
        return _int_set
    if isinstance(default, bool):
        return lambda raw: raw.lower() in {"1", "true", "yes", "on"}
    return type(default)


DEFAULTS = Settings()
# The bot's secrets (the token, the webhook secret): only the bot's process may hold them.
SECRET_VARIABLES = frozenset(ENV_PREFIX + spec.metadata["env"] for spec in dataclasses.fields(Settings)
                             if spec.metadata.get("secret"))
