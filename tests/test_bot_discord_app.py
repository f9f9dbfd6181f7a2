"""The Discord front end starts: the real discord.py logs in to the fake Discord (REST and gateway over real sockets)
with no privileged intent, opens the shared stores, beats the bot's heartbeat (`stylebot health`), and `stylebot run`
says what to set when no token is."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

import presence
from jobs.identities import Platform, id_range
from stylebot.frontends import NO_TOKENS
from tests.support.discord_bot import discord_settings, running_discord_bot
from tests.support.fakediscord import GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT, fake_discord

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[1]


async def test_the_bot_logs_in_without_privileged_intents_and_opens_the_stores(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        [identify] = fake.identifies
        assert identify["intents"] & (MESSAGE_CONTENT | GUILD_MEMBERS | GUILD_PRESENCES) == 0
        assert fake.connected
        stored = await client.svc.stored(123456789012345678)
        low, high = id_range(Platform.DISCORD)
        assert low <= stored < high
        assert {p.name for p in await client.svc.presets.list(stored)} >= {"starry_night", "mosaic"}
        await fake.until(lambda: presence.check(client.svc.settings.data_dir, min_workers=0)[0], "a healthy bot")
    assert not fake.connected
    assert presence.heartbeat_age(client.svc.settings.data_dir, presence.BOT) is None, "a clean stop says so"


async def test_a_wrong_token_stops_the_start_with_discords_answer(tmp_path: Path) -> None:
    import discord

    async with fake_discord() as fake:
        settings = discord_settings(tmp_path, fake, discord_token="not-the-token")
        with pytest.raises(discord.LoginFailure):
            async with running_discord_bot(settings):
                pass


def test_run_without_any_token_says_how_to_get_each(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STYLEBOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "stylebot.cli", "run", "--workers", "0"],
        env={**env, "STYLEBOT_DATA_DIR": str(tmp_path)}, cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == NO_TOKENS
    assert "STYLEBOT_TOKEN" in NO_TOKENS and "STYLEBOT_DISCORD_TOKEN" in NO_TOKENS


async def test_stopping_the_fake_gateway_does_not_stop_the_bot(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        await fake.disconnect_gateway(4000)
        await fake.until(lambda: len(fake.resumes) + len(fake.identifies) >= 2, "a reconnect", within_s=20)
        await asyncio.sleep(0)
        assert not client.is_closed()
