"""Many machines, for real: a bot process and two `stylebot worker` processes that share nothing but the
Postgres URL and the S3 bucket (each has a data folder of its own), against the fake Bot API.

One test walks through it all, as an operator would see it: private and group flows; a worker SIGKILLed
mid-job (the other runs the job again and exactly one result arrives); a cancel that lands within 2 s; and
Postgres restarting under everything (the bot and the workers reconnect; nothing is lost or sent twice).
Another runs both front ends in the one bot process (Telegram and Discord tokens set) over the same workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from settings import Settings
from tests.support.backends import Backend
from tests.support.bot import ALICE, BOB, GROUP, bot_settings, button, fake_api, is_result, is_status, private
from tests.support.discord_bot import make_world
from tests.support.fakebotapi import FakeBotApi
from tests.support.fakediscord import FakeDiscord, FakeMessage, fake_discord
from tests.support.pictures import picture
from tests.support.servers import PostgresServer
from worker.pool import PROJECT_ROOT

pytestmark = pytest.mark.timeout(240)

ENGINE_SECONDS = 2.0


class Fleet:
    """The bot and worker processes, each with its own data folder and log."""

    def __init__(self, tmp_path: Path, settings: Settings, aws_env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.settings = settings
        self.aws_env = aws_env
        self.procs: dict[str, asyncio.subprocess.Process] = {}

    def env(self, name: str) -> dict[str, str]:
        pythonpath = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        own = dataclasses.replace(self.settings, data_dir=self.tmp_path / name / "data")
        return {
            **os.environ,
            **own.to_env(),
            **self.aws_env,
            "PYTHONPATH": pythonpath,
            "STYLEBOT_ENGINE_FACTORY": "tests.support.fake_engine:make_engine",
            "FAKE_ENGINE_SECONDS": str(ENGINE_SECONDS),
        }

    async def start(self, name: str, *args: str) -> None:
        log = (self.tmp_path / f"{name}.log").open("ab")
        self.procs[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stylebot.cli", *args, env=self.env(name), cwd=PROJECT_ROOT, stdout=log, stderr=log
        )

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()[-4000:]

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise AssertionError(f"{name} did not stop on SIGTERM:\n{self.log(name)}") from None


@contextlib.asynccontextmanager
async def fleet(tmp_path: Path, api: FakeBotApi, backend: Backend, **overrides: Any) -> AsyncIterator[Fleet]:
    settings = bot_settings(
        tmp_path,
        api,
        database_url=backend.database_url,
        storage_url=backend.storage_url,
        workers=0,  # the bot machine paints nothing: the workers are elsewhere
        default_iterations=60,
        lease_s=2.0,
        heartbeat_s=0.1,
        shutdown_grace_s=0.5,
        status_interval_s=0.2,
        **overrides,
    )
    running = Fleet(tmp_path, settings, backend.env)
    try:
        await running.start("bot", "run")
        await running.start("w1", "worker", "--worker-id", "w1")
        await running.start("w2", "worker", "--worker-id", "w2")
        yield running
    finally:
        await running.stop()


def job_row(database_url: str, job_id: int) -> tuple[str, str | None, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT state, worker_id, attempts FROM jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


async def wait_row(database_url: str, job_id: int, state: str, within: float = 30.0) -> tuple[str, str | None, int]:
    deadline = time.monotonic() + within
    while True:
        row = await asyncio.to_thread(job_row, database_url, job_id)
        if row[0] == state:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {row}, not {state}")
        await asyncio.sleep(0.05)


def results(api: FakeBotApi) -> int:
    return len([c for c in api.calls if is_result(c)])


async def test_bot_and_two_workers_on_postgres_and_s3(
    tmp_path: Path, scaled_backend: Backend, postgres_server: PostgresServer
) -> None:
    database = scaled_backend.database_url
    async with fake_api() as api, fleet(tmp_path, api, scaled_backend) as running:
        # Private: a photo, then its style.
        chat = private(ALICE)
        api.user_photo(chat, ALICE, picture((10, 200, 10)))
        await api.wait_for("sendMessage", lambda c: "style" in c.text.lower(), within_s=60)
        api.user_photo(chat, ALICE, picture((200, 10, 10)))
        [first] = await api.wait_for("sendPhoto", is_result, within_s=60)
        assert "your style picture" in first.caption

        # A group: Bob replies to Alice's photo with /style@Bot; the result names Bob.
        alice_photo = api.user_photo(GROUP, ALICE, picture((100, 0, 0)))
        api.user_text(GROUP, BOB, "/style@StyleTestBot mosaic", reply_to=alice_photo)
        [_, group] = await api.wait_for("sendPhoto", is_result, count=2, within_s=60)
        assert int(group.params["chat_id"]) == GROUP.id and "Bob" in group.caption and "mosaic" in group.caption

        # SIGKILL the worker that is painting: the other one paints it again; one result arrives.
        api.user_photo(chat, ALICE, picture((1, 2, 3)), caption="/style the_scream")
        await api.wait_for("sendPhoto", is_status, count=3, within_s=30)
        job_id = 3
        _, painter, _ = await wait_row(database, job_id, "running")
        assert painter in ("w1", "w2")
        running.procs[painter].kill()
        await running.procs[painter].wait()
        killed_at = time.monotonic()
        deadline = killed_at + 30
        state, other, attempts = await asyncio.to_thread(job_row, database, job_id)
        while (state, other) != ("running", {"w1": "w2", "w2": "w1"}[painter]) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the dead worker's row until procrastinate's stalled-job check gives it back
            state, other, attempts = await asyncio.to_thread(job_row, database, job_id)
        assert (state, attempts) == ("running", 2), (state, other, attempts)
        assert time.monotonic() - killed_at < 30, "a dead worker's job runs again within 30 s"
        [*_, third] = await api.wait_for("sendPhoto", is_result, count=3, within_s=60)
        assert "the scream" in third.caption
        await running.start(painter, "worker", "--worker-id", painter)  # the operator restarts it

        # Cancel: the worker stops within 2 s and the status says so.
        api.user_photo(chat, ALICE, picture((7, 7, 7)), caption="/style mosaic")
        [*_, status] = await api.wait_for("sendPhoto", is_status, count=4, within_s=30)
        await wait_row(database, 4, "running")
        asked = time.monotonic()
        api.tap(ALICE, api.message(status), button(status, "Cancel")["callback_data"])
        await wait_row(database, 4, "cancelled", within=5)
        assert time.monotonic() - asked < 2.0
        await api.wait_for("editMessageCaption", lambda c: c.caption == "⏹ Cancelled.", within_s=20)

        # Postgres restarts while a job runs: everyone reconnects; the job finishes and is delivered once.
        api.user_photo(chat, ALICE, picture((50, 50, 50)), caption="/style starry night")
        await api.wait_for("sendPhoto", is_status, count=5, within_s=30)
        await wait_row(database, 5, "running")
        await asyncio.to_thread(postgres_server.restart)
        [*_, after_restart] = await api.wait_for("sendPhoto", is_result, count=4, within_s=90)
        assert "starry night" in after_restart.caption
        api.user_photo(private(BOB), BOB, picture((90, 20, 200)), caption="/style mosaic")  # new work still flows
        await api.wait_for("sendPhoto", is_result, count=5, within_s=90)
        await asyncio.sleep(1.0)
        assert results(api) == 5, "every result exactly once"
        for name in ("bot", "w1", "w2"):
            assert running.procs[name].returncode is None, running.log(name)
    # Each process kept its own folder; no picture was written to any of them.
    assert await asyncio.to_thread(local_pictures, tmp_path) == []


def local_pictures(folder: Path) -> list[Path]:
    """Pictures on local disk, except the presets folder the bot reads its paintings from."""
    return [p for p in folder.rglob("*") if p.suffix in (".png", ".jpg") and "presets" not in p.parts]


def is_discord_result(fake: FakeDiscord, message: FakeMessage) -> bool:
    """A bot message in Discord carrying a finished picture (it has the result buttons)."""
    return message.author is fake.bot_user and bool(message.attachments) and any(
        cid.startswith("sb:r:") for cid in message.custom_ids()
    )


async def test_telegram_and_discord_run_in_one_bot_process_over_the_same_workers(
    tmp_path: Path, scaled_backend: Backend
) -> None:
    async with fake_api() as api, fake_discord() as discord_api:
        world = make_world(discord_api)
        discord_settings = {
            "discord_token": discord_api.token,
            "discord_api_url": discord_api.api_url,
            "discord_gateway_url": discord_api.gateway_url,
        }
        async with fleet(tmp_path, api, scaled_backend, **discord_settings) as running:
            await discord_api.until(
                lambda: bool(discord_api.commands.get(None)) and discord_api.connected, "the Discord bot", within_s=60
            )
            api.user_photo(private(ALICE), ALICE, picture((10, 200, 10)), caption="/style mosaic")
            await discord_api.send_slash_command(
                world.alice, world.channel, "style", {"preset": "mosaic"},
                attachments={"photo": ("photo.png", picture((200, 10, 10), fmt="PNG"))},
            )
            [telegram_result] = await api.wait_for("sendPhoto", is_result, within_s=90)
            assert "mosaic" in telegram_result.caption
            await discord_api.until(
                lambda: any(is_discord_result(discord_api, m) for m in discord_api.bot_messages(world.channel)),
                "the Discord result", within_s=90,
            )
            await asyncio.sleep(1.0)
            assert results(api) == 1, "Telegram got its own result once, and not Discord's"
            assert len([m for m in discord_api.bot_messages(world.channel) if is_discord_result(discord_api, m)]) == 1
            assert running.procs["bot"].returncode is None, running.log("bot")
