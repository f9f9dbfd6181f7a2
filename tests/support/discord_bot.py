"""Builders for the Discord tests: settings pointing at the fake Discord, the real bot running against it, and a
small world (a server with a channel, members, DMs)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.services import Tuning
from bot.discord.app import StyleBot, build_client, serve
from settings import Settings
from tests.support.bot import FAST, PRESETS
from tests.support.fakediscord import FakeChannel, FakeDiscord, FakeGuild, FakeMessage, FakeUser
from tests.support.pictures import picture
from tests.support.settings import make_settings


def discord_settings(tmp_path: Path, fake: FakeDiscord, **overrides: Any) -> Settings:
    """Settings for a Discord-only bot talking to the fake, with the test presets (tests.support.bot.PRESETS)."""
    presets_dir = tmp_path / "presets"
    presets_dir.mkdir(exist_ok=True)
    for name, color in PRESETS.items():
        (presets_dir / f"{name}.png").write_bytes(picture(color, fmt="PNG"))
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
    """A painting asked for without the intake: the user posts a photo, the job is queued with Discord's stored ids,
    and the bot posts its status message (with Cancel) replying to it; (job id, request, status message)."""
    import asyncio
    import uuid

    import discord

    from bot.core.captions import queued_text
    from bot.core.i18n import translator
    from bot.core.params import job_params
    from bot.core.requests import posted
    from bot.discord.cancel import status_view
    from bot.discord.identity import chat_id, chat_type, presets_chat
    from bot.discord.text import markdown
    from jobs import keys
    from jobs.models import NewJob

    data = photo if photo is not None else picture()
    request = await fake.send_message(user, channel, "paint this", files={"photo.png": data})
    svc = client.svc
    user_id, chat = await svc.stored(user.id), await chat_id(svc, channel.id)
    content = keys.upload_key(user_id, uuid.uuid4().hex, ".png")
    await asyncio.to_thread(svc.storage.put, content, data)
    preset = await svc.presets.get(style, await presets_chat(svc, channel.guild_id, channel.id))
    assert preset is not None, style
    job = NewJob(
        chat_id=chat,
        user_id=user_id,
        message_id=request.id,
        content_key=content,
        style_keys=(preset.image_key,),
        params=job_params(await svc.preferences.get(user_id), svc.settings),
        style_name=style,
        user_name=user.username,
        chat_type=chat_type(channel.guild_id),
        reply_to_message_id=request.id,
        language=locale,
    )
    queued = await svc.jobs.enqueue(job)
    text = queued_text(queued.position, style, locale)
    reference = discord.MessageReference(message_id=request.id, channel_id=channel.id, fail_if_not_exists=False)
    status = await client.get_partial_messageable(channel.id).send(
        markdown(text), view=status_view(queued.job_id, translator(locale)), reference=reference
    )
    await svc.jobs.set_status_message(queued.job_id, status.id)
    posted(svc, queued.job_id, text)
    return queued.job_id, request, fake.messages[status.id]
