"""Builders for the bot tests: pictures made in code, settings, a running bot, fake-engine workers."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from bot.core.services import Tuning
from bot.telegram.app import CountingRateLimiter, build_application, serve
from jobs.models import JobParams, JobState, JobStatus
from settings import Settings
from tests.support.fakebotapi import FakeBotApi, TgChat, TgUser
from tests.support.pictures import picture
from tests.support.settings import make_settings
from worker.pool import WorkerPool

ALICE = TgUser(1001, "Alice", "alice")
BOB = TgUser(1002, "Bob", "bob")
ADMIN = TgUser(1, "Ada", "ada")
GROUP = TgChat(-100500, "supergroup", "Painters")
PRESETS = {"starry_night": (30, 40, 160), "mosaic": (200, 120, 30), "the_scream": (220, 60, 40)}
FAST = Tuning(delivery_poll_s=0.05, preview_interval_s=0.2, album_wait_s=0.3, pending_ttl_s=3600)


def private(user: TgUser) -> TgChat:
    return TgChat(user.id, "private")


def preset_paintings(tmp_path: Path) -> Path:
    """A presets folder with the PRESETS paintings (one plain colour each)."""
    presets_dir = tmp_path / "presets"
    presets_dir.mkdir(exist_ok=True)
    for name, color in PRESETS.items():
        (presets_dir / f"{name}.png").write_bytes(picture(color, fmt="PNG"))
    return presets_dir


def bot_settings(tmp_path: Path, api: FakeBotApi, **overrides: Any) -> Settings:
    """Settings for a bot talking to the fake Bot API, with three preset paintings in a presets folder."""
    presets_dir = preset_paintings(tmp_path)
    values: dict[str, Any] = {
        "token": api.token,
        "api_url": api.api_url,
        "file_url": api.file_url,
        "presets_dir": presets_dir,
        "admins": frozenset({ADMIN.id}),
        "status_interval_s": 0.1,
        "default_iterations": 10,
        "max_size": 256,
        "lease_s": 2.0,
        "heartbeat_s": 0.05,
        "preview_interval_s": 0.1,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


def rate_limiter() -> CountingRateLimiter:
    """No throttling in tests, but 429s are still waited out, retried and counted."""
    return CountingRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)


@contextlib.asynccontextmanager
async def fake_api() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    try:
        yield api
    finally:
        await api.stop()


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, tuning: Tuning = FAST) -> AsyncIterator[Any]:
    app = build_application(settings, tuning=tuning, rate_limiter=rate_limiter())
    async with serve(app, poll_timeout=1):
        yield app


@contextlib.contextmanager
def workers(
    settings: Settings,
    seconds: float = 0.3,
    count: int = 1,
    engine_factory: str | None = "tests.support.fake_engine:make_engine",
) -> Iterator[WorkerPool]:
    """Worker processes running the fake engine (each job takes `seconds`); engine_factory None: the real one."""
    env = {"FAKE_ENGINE_SECONDS": str(seconds)}
    if engine_factory:
        env["STYLEBOT_ENGINE_FACTORY"] = engine_factory
    pool = WorkerPool(
        settings,
        count,
        env=env,
        command=[sys.executable, "-m", "worker", "--poll-interval", "0.05", "--log-level", "WARNING"],
    )
    pool.start()
    try:
        yield pool
    finally:
        pool.stop(timeout_s=5)


def is_result(call: Any) -> bool:
    """A sendPhoto that carries a finished picture (it has the result buttons)."""
    return (
        call.method == "sendPhoto"
        and call.status == 200
        and any(b.get("text", "").endswith("Stronger") for b in call.buttons())
    )


def is_status(call: Any) -> bool:
    """A sendPhoto that opened a status message (it has the Cancel button)."""
    return (
        call.method == "sendPhoto"
        and call.status == 200
        and any(b.get("callback_data") == "cancel" for b in call.buttons())
    )


def button(call: Any, label_part: str) -> dict[str, Any]:
    """The first button of the call's keyboard whose label contains label_part."""
    for candidate in call.buttons():
        if label_part.lower() in candidate.get("text", "").lower():
            found: dict[str, Any] = candidate
            return found
    raise AssertionError(f"no button {label_part!r} in {call.buttons()}")


def result_job_id(call: Any) -> int:
    """The job a result message shows (its buttons' data end with the job id)."""
    return int(button(call, "Stronger")["callback_data"].rsplit(":", 1)[1])


async def answer_to(api: FakeBotApi, query_id: str) -> Any:
    """The bot's answerCallbackQuery to a tap (`api.tap` returns the query's id)."""
    [call] = await api.wait_for("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id)
    return call


def job_status(**changes: object) -> JobStatus:
    """A JobStatus for unit tests: a running job of a private chat, with any field changed."""
    values: dict[str, object] = {
        "id": 7,
        "chat_id": 1,
        "user_id": 1,
        "message_id": 10,
        "state": JobState.RUNNING,
        "params": JobParams(max_side=512, iterations=200),
        "style_name": "mosaic",
        "user_name": "",
        "chat_type": "private",
        "created_at": 0.0,
    }
    values.update(changes)
    return JobStatus(**values)  # type: ignore[arg-type]
