"""The buttons under a Discord result: the real bot against the fake Discord, real workers with the fake engine.
Each works for the requester (also after a restart); every custom_id is checked on the server (another job's,
another channel's, garbage: refused, nothing sent); another member may not paint; Delete is the requester's or a
Manage Messages member's; a full-size file over the upload limit goes as a smaller JPEG."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.params import AGAIN, BIGGER, COLOURS, SMALLER, STRONGER, WEAKER, varied
from bot.discord.app import StyleBot
from tests.support.bot import workers
from tests.support.discord_bot import World, bot_message, discord_settings, make_world, request_job, running_discord_bot
from tests.support.fakediscord import (
    FakeChannel,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    FakeRole,
    FakeUser,
    fake_discord,
)
from tests.support.pictures import noise

pytestmark = pytest.mark.timeout(60)
MANAGE_MESSAGES = 1 << 13


def is_result_of(job_id: int) -> Callable[[FakeMessage], bool]:
    return lambda m: f"sb:r:up:{job_id}" in m.custom_ids()


def public(fake: FakeDiscord, channel: FakeChannel) -> list[FakeMessage]:
    """What everyone in the channel sees of the bot (not the answers only the tapper sees)."""
    return [m for m in fake.bot_messages(channel) if not m.ephemeral]


def button(job_id: int, action: str) -> str:
    return f"sb:r:{action}:{job_id}"


async def answer(fake: FakeDiscord, tap: FakeInteraction) -> FakeMessage:
    """The message the bot answered the tap with (after a deferral: the follow-up that completed it)."""
    await tap.response()

    def answered() -> bool:
        return bool(tap.followups) or (tap.original is not None and not tap.original.loading)

    await fake.until(answered, "the answer to a tap", within_s=10)
    assert not tap.failed, tap.failure
    return tap.followups[-1] if tap.followups else tap.original  # type: ignore[return-value]


async def new_status(fake: FakeDiscord, world: World, result: FakeMessage, seen: set[int]) -> tuple[FakeMessage, int]:
    """The next status message the bot posted under `result` (not one of `seen`), and its job id."""

    def check(m: FakeMessage) -> bool:
        return m.reply_to is result and m.id not in seen and any(c.startswith("sb:cancel:") for c in m.custom_ids())

    status = await bot_message(fake, world.channel, check)
    seen.add(status.id)
    [cancel] = [c for c in status.custom_ids() if c.startswith("sb:cancel:")]
    return status, int(cancel.rsplit(":", 1)[1])


async def first_result(
    fake: FakeDiscord, client: StyleBot, world: World, user: FakeUser | None = None
) -> tuple[int, FakeMessage]:
    job_id, _, _ = await request_job(fake, client, world.channel, user or world.alice)
    return job_id, await bot_message(fake, world.channel, is_result_of(job_id), within_s=25)


async def test_each_variation_paints_again_for_the_requester(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake, max_queued_per_user=10)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                job_id, result = await first_result(fake, client, world)
                original = await client.svc.jobs.status(job_id)
                assert original is not None
                seen: set[int] = set()
                new_jobs = []
                for action in (STRONGER, WEAKER, BIGGER, SMALLER, COLOURS, AGAIN):
                    said = await answer(fake, await fake.click_button(result, button(job_id, action), world.alice))
                    assert said.ephemeral and said.content == "On it!"
                    status, new_id = await new_status(fake, world, result, seen)
                    job = await client.svc.jobs.status(new_id)
                    assert job is not None and job.message_id == status.id and job.reply_to_message_id == result.id
                    expected = varied(original.params, action)
                    if action == AGAIN:
                        assert job.params.seed != original.params.seed
                    else:
                        assert job.params == expected, action
                    new_jobs.append(new_id)
                for new_id in new_jobs:
                    repainted = await bot_message(fake, world.channel, is_result_of(new_id), within_s=25)
                    assert repainted.reply_to is result
                stronger = await client.svc.jobs.status(new_jobs[0])
                assert stronger is not None and stronger.params.strength == 2.0


async def test_time_lapse_full_size_privately_other_style_and_delete(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        with workers(settings, seconds=2.0):  # long enough for a time-lapse (a frame every 0.5 s)
            async with running_discord_bot(settings) as client:
                job_id, result = await first_result(fake, client, world)
                assert button(job_id, "gif") in result.custom_ids()

                said = await answer(fake, await fake.click_button(result, button(job_id, "gif"), world.alice))
                assert said.ephemeral and said.content == "Sending the time-lapse…"
                gif = await bot_message(fake, world.channel, lambda m: any(n.endswith(".gif") for n in m.files))
                assert gif.reply_to is result and next(iter(gif.files.values()))[:6] == b"GIF89a"

                said = await answer(fake, await fake.click_button(result, button(job_id, "file"), world.alice))
                assert said.ephemeral and f"stylebot-{job_id}.png" in said.files
                assert said.content.startswith("64×")

                said = await answer(fake, await fake.click_button(result, button(job_id, "dm"), world.alice))
                assert said.ephemeral and said.content == "Sent to our private chat."
                [private] = [m for m in fake.bot_messages(world.dm(world.alice)) if m.attachments]
                assert "🎨 **mosaic**" in private.content and "<@" not in private.content

                offer = await answer(fake, await fake.click_button(result, button(job_id, "style"), world.alice))
                assert offer.ephemeral and offer.content == "Pick another style for this photo:"
                [select] = offer.custom_ids()
                options = [o["value"] for o in offer.components[0]["components"][0]["options"]]
                assert "starry_night" in options
                said = await answer(fake, await fake.select(offer, select, ["starry_night"], world.alice))
                assert said.content == "On it!"
                _, new_id = await new_status(fake, world, result, set())
                job = await client.svc.jobs.status(new_id)
                assert job is not None and job.style_name == "starry_night"

                said = await answer(fake, await fake.click_button(result, button(job_id, "del"), world.alice))
                assert said.ephemeral and said.content == "Deleted."
                assert result.deleted


async def test_a_button_still_works_after_a_restart(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                job_id, result = await first_result(fake, client, world)
            async with running_discord_bot(settings):
                said = await answer(fake, await fake.click_button(result, button(job_id, "file"), world.alice))
    assert said.ephemeral and f"stylebot-{job_id}.png" in said.files


async def test_forged_custom_ids_are_refused_and_send_nothing(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        elsewhere = fake.create_channel(world.guild, "random")
        settings = discord_settings(tmp_path, fake)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                job_a, result_a = await first_result(fake, client, world)
                job_b, _ = await first_result(fake, client, world)
                job_c, _, _ = await request_job(fake, client, elsewhere, world.alice)
                await bot_message(fake, elsewhere, is_result_of(job_c), within_s=25)
                before = len(public(fake, world.channel)), len(public(fake, elsewhere))
                for forged in (
                    button(job_b, STRONGER),
                    button(job_c, STRONGER),
                    "sb:r:up:garbage",
                    f"sb:r:zz:{job_a}",
                    button(job_b, "del"),
                    button(job_c, "file"),
                ):
                    result_a.components[0]["components"][0]["custom_id"] = forged  # a tampered message
                    said = await answer(fake, await fake.click_button(result_a, forged, world.alice))
                    assert said.ephemeral and said.content == "That button doesn't belong to this message.", forged
                await asyncio.sleep(0.3)
                assert (len(public(fake, world.channel)), len(public(fake, elsewhere))) == before
                assert await client.svc.jobs.active() == []
                assert not fake.bot_messages(world.dm(world.alice))


async def test_another_members_tap_is_refused_and_paints_nothing(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                job_id, result = await first_result(fake, client, world)
                before = len(public(fake, world.channel))
                for action in (STRONGER, "style", "file", "dm", "del"):
                    said = await answer(fake, await fake.click_button(result, button(job_id, action), world.bob))
                    assert said.ephemeral and "Only alice" in said.content, (action, said.content)
                await asyncio.sleep(0.3)
                assert len(public(fake, world.channel)) == before and not result.deleted
                assert await client.svc.jobs.active() == []
                assert not fake.bot_messages(world.dm(world.bob))


async def test_delete_by_the_requester_or_a_manage_messages_member(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        mods = FakeRole(4242, "mods", MANAGE_MESSAGES)
        world.guild.roles[mods.id] = mods
        carol = fake.create_user("carol")
        fake.add_member(world.guild, carol, role_ids=[mods.id])
        settings = discord_settings(tmp_path, fake)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                first, first_message = await first_result(fake, client, world)
                second, second_message = await first_result(fake, client, world)
                refused = await answer(fake, await fake.click_button(first_message, button(first, "del"), world.bob))
                assert "Only alice or an admin" in refused.content and not first_message.deleted
                mine = await answer(fake, await fake.click_button(first_message, button(first, "del"), world.alice))
                assert mine.content == "Deleted." and first_message.deleted
                modded = await answer(fake, await fake.click_button(second_message, button(second, "del"), carol))
                assert modded.ephemeral and modded.content == "Deleted." and second_message.deleted


async def test_a_full_size_file_over_the_limit_is_a_smaller_jpeg(tmp_path: Path) -> None:
    limit = 40_000
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake, default_size=256)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                job_id, _, _ = await request_job(fake, client, world.channel, world.alice, photo=noise(256))
                world.guild.attachment_size_limit = limit
                result = await bot_message(fake, world.channel, is_result_of(job_id), within_s=25)
                said = await answer(fake, await fake.click_button(result, button(job_id, "file"), world.alice))
    [(name, data)] = said.files.items()
    assert said.ephemeral and name == f"stylebot-{job_id}.jpg" and len(data) <= limit and data[:3] == b"\xff\xd8\xff"
    assert said.content.startswith("256×256") and "smaller JPEG" in said.content
