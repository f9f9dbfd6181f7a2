"""`stylebot run` as a process: SIGTERM mid-job exits 0 with the job re-queued; a restart delivers it once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from presence import heartbeat_dir
from settings import Settings
from tests.support.bot import ALICE, bot_settings, fake_api, is_result, is_status, private
from tests.support.fakebotapi import FakeBotApi
from tests.support.pictures import picture
from worker.pool import PROJECT_ROOT

pytestmark = pytest.mark.timeout(90)


def run_env(settings: Settings, engine_seconds: float) -> dict[str, str]:
    """`stylebot run` against the fake API: one local worker with the fake engine, short timings."""
    assert settings.presets_dir is not None
    pythonpath = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "PYTHONPATH": pythonpath,
        "STYLEBOT_TOKEN": settings.token,
        "STYLEBOT_API_URL": settings.api_url,
        "STYLEBOT_FILE_URL": settings.file_url,
        "STYLEBOT_DATA_DIR": str(settings.data_dir),
        "STYLEBOT_PRESETS_DIR": str(settings.presets_dir),
        "STYLEBOT_WORKERS": "1",
        "STYLEBOT_ITERATIONS": "200",  # the fake engine checks for a stop between iterations
        "STYLEBOT_STATUS_INTERVAL": "0.2",
        "STYLEBOT_HEARTBEAT_SECONDS": "0.1",
        "STYLEBOT_LEASE_SECONDS": "5",
        "STYLEBOT_SHUTDOWN_GRACE": "1",
        "STYLEBOT_ENGINE_FACTORY": "tests.support.fake_engine:make_engine",
        "FAKE_ENGINE_SECONDS": str(engine_seconds),
    }


async def start(settings: Settings, engine_seconds: float, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "stylebot.cli",
            "run",
            env=run_env(settings, engine_seconds),
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=out,
        )


async def sigterm(proc: asyncio.subprocess.Process, log: Path, within_s: float = 30.0) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.wait(), within_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"no exit {within_s} s after SIGTERM:\n{tail(log)}") from None


def tail(log: Path) -> str:
    """The end of the bot's output (for assertion messages)."""
    return log.read_text()[-3000:]


def job_rows(settings: Settings) -> list[tuple[int, str, int]]:
    with sqlite3.connect(settings.db_path) as conn:
        return conn.execute("SELECT id, state, attempts FROM jobs ORDER BY id").fetchall()


async def wait_started(api: FakeBotApi, proc: asyncio.subprocess.Process, log: Path) -> None:
    for _ in range(300):
        if api.calls_to("getUpdates"):
            return
        assert proc.returncode is None, tail(log)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never polled:\n{tail(log)}")


async def test_sigterm_mid_job_requeues_and_restart_delivers_once(tmp_path: Path) -> None:
    log = tmp_path / "stylebot.log"
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        chat = private(ALICE)
        proc = await start(settings, engine_seconds=60, log=log)
        try:
            await wait_started(api, proc, log)
            api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
            await api.wait_for("sendPhoto", is_status, within_s=20)
            await api.wait_for("editMessageCaption", lambda c: "Painting" in c.caption, within_s=20)
        finally:
            code = await sigterm(proc, log)
        output = log.read_text()
        assert code == 0, output[-3000:]
        assert "Traceback" not in output, output[-3000:]
        # The running job went back to the queue (its interrupted attempt not counted); nothing was delivered.
        assert job_rows(settings) == [(1, "queued", 0)]
        assert not any(is_result(c) for c in api.calls)
        # The bot and the worker both stopped cleanly: neither left a heartbeat behind.
        assert not list(heartbeat_dir(settings.data_dir).iterdir())

        api.user_text(chat, ALICE, "/help")  # sent while the bot is down: waits for it at Telegram
        stopped_at = len(api.calls)
        proc = await start(settings, engine_seconds=0.2, log=log)
        try:
            [result] = await api.wait_for("sendPhoto", is_result, within_s=30)
            await api.wait_for("sendMessage", lambda c: "/style" in c.text, within_s=10)
            await asyncio.sleep(1.5)  # a few more delivery rounds: nothing is sent twice
        finally:
            code = await sigterm(proc, log)
        assert code == 0, tail(log)
        assert api.calls.index(result) >= stopped_at
        assert len([c for c in api.calls if is_result(c)]) == 1
        assert job_rows(settings) == [(1, "delivered", 1)]
        assert "job_delivered job=1 state=done" in log.read_text()
