"""Builders for the Discord tests: settings pointing at the fake Discord, the real bot running against it, and a
small world (a server with a channel, members, DMs)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.services import Tuning
from bot.discord.app import StyleBot, build_client, serve
from jobs.models import JobState
from settings import Settings
from tests.support.bot import FAST, preset_paintings
from tests.support.fakediscord import FakeChannel, FakeDiscord, FakeGuild, FakeMessage, FakeUser
from tests.support.pictures import picture
from tests.support.settings import make_settings


def discord_settings(tmp_path: Path, fake: FakeDiscord, **overrides: Any) -> Settings:
    """Settings for a Discord-only bot talking to the fake, with the test presets (tests.support.bot.PRESETS)."""
    presets_dir = preset_paintings(tmp_path)
    values: dict[str, Any] = {
        "token": "",
        "discord_token": fake.token,
        "discord_api_url": fake.api_url,
        "discord_gateway_url": fake.gateway_url,
        "presets_dir": presets_dir,
        "status_interval_s": 0.1,
        "default_iterations": 10,
        "max_size": 256,
        "lease_s": 2.0,
        "heartbeat_s": 0.05,
        "preview_interval_s": 0.1,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


@contextlib.asynccontextmanager
async def running_discord_bot(settings: Settings, tuning: Tuning = FAST) -> AsyncIterator[StyleBot]:
    """The real bot, logged in to the fake and ready (its commands synced); closed afterwards."""
    async with serve(build_client(settings, tuning=tuning)) as client:
        yield client


@dataclass
class World:
    """A server with a #general channel, two members (Alice, Bob) and the server's owner (Manage Server)."""

    fake: FakeDiscord
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser
    bob: FakeUser

    @property
    def owner(self) -> FakeUser:
        return self.fake.owner

    def dm(self, user: FakeUser) -> FakeChannel:
        return self.fake.dm_channel(user)


def make_world(fake: FakeDiscord, **guild_options: Any) -> World:
    guild = fake.create_guild(**guild_options)
    channel = fake.create_channel(guild)
    alice, bob = fake.create_user("alice"), fake.create_user("bob")
    fake.add_member(guild, alice)
    fake.add_member(guild, bob)
    return World(fake, guild, channel, alice, bob)


async def bot_message(
    fake: FakeDiscord, channel: FakeChannel, check: Callable[[FakeMessage], bool], within_s: float = 15.0
) -> FakeMessage:
    """The first message of the bot in `channel` (deleted ones included) that passes `check`, waited for."""
    found: list[FakeMessage] = []

    def seen() -> bool:
        found[:] = [m for m in fake.channel_messages(channel, include_deleted=True)
                    if m.author is fake.bot_user and check(m)]
        return bool(found)

    await fake.until(seen, "a bot message", within_s=within_s)
    return found[0]


def cancel_job_id(message: FakeMessage) -> int:
    """The job a status message shows (its Cancel button's custom_id ends with the job id)."""
    [custom_id] = [c for c in message.custom_ids() if c.startswith("sb:cancel:")]
    return int(custom_id.rsplit(":", 1)[1])


async def job_state(client: StyleBot, job_id: int, states: set[JobState], within_s: float = 15.0) -> JobState:
    """The job's state once it is one of `states` (waited for)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        job = await client.svc.jobs.status(job_id)
        if job is not None and job.state in states:
            return job.state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} is {job.state if job else 'gone'}, not one of {states}")
        await asyncio.sleep(0.05)


async def request_job(
    fake: FakeDiscord,
    client: StyleBot,
    channel: FakeChannel,
    user: FakeUser,
    *,
    style: str = "mosaic",
    photo: bytes | None = None,
    locale: str = "en-US",
) -> tuple[int, FakeMessage, FakeMessage]:
    """`/style photo:<photo> preset:<style>` by `user` in `channel`; (job id, request, status message) once the
    job is queued (for a slash command the request is the bot's public answer, which is also the status message)."""
    user.locale = locale
    await fake.send_slash_command(
        user, channel, "style", {"preset": style}, attachments={"photo": ("photo.png", photo or picture(fmt="PNG"))}
    )
    status = await bot_message(
        fake, channel, lambda m: any(c.startswith("sb:cancel:") for c in m.custom_ids()) and m.id not in _taken
    )
    _taken.add(status.id)
    return cancel_job_id(status), status, status


_taken: set[int] = set()  # status messages request_job already returned
