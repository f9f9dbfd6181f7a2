"""Delivering Discord results: the real bot against the fake Discord, real worker processes with the fake engine.
A result is posted once as a channel message replying to the request (picture, caption, buttons); failures show on
the status message; status edits are paced and survive 429s and the interaction token's expiry; a channel the bot
may not post in sends the result by DM; a result over the upload limit goes as a smaller JPEG; only Discord jobs
are delivered here, and a restart delivers exactly once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import bot.discord.delivery.statuses as statuses
from jobs.bot_stores import bot_stores
from jobs.identities import Platform
from jobs.interface import BotQueue
from jobs.models import JobParams, JobState, NewJob
from tests.support.bot import workers
from tests.support.discord_bot import (
    bot_message,
    discord_settings,
    make_world,
    request_job,
    running_discord_bot,
)
from tests.support.fakediscord import ATTACH_FILES, SEND_MESSAGES, FakeMessage, Overwrite, fake_discord
from tests.support.pictures import noise

pytestmark = pytest.mark.timeout(60)
EDIT_ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"


def is_result_of(job_id: int) -> Callable[[FakeMessage], bool]:
    return lambda m: f"sb:r:up:{job_id}" in m.custom_ids()


def labels(message: FakeMessage) -> list[list[str]]:
    return [[c.get("label", "") for c in row["components"]] for row in message.components]


async def test_a_finished_job_is_posted_once_as_a_reply_with_the_picture_and_buttons(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        async with running_discord_bot(settings) as client:
            job_id, request, status = await request_job(fake, client, world.channel, world.alice)
            with workers(settings):
                result = await bot_message(fake, world.channel, is_result_of(job_id), within_s=20)
                await fake.until(lambda: bool(status.edits) and not status.components, "the status closed")
            await asyncio.sleep(0.3)
            job = await client.svc.jobs.status(job_id)
        assert job is not None and job.state == JobState.DELIVERED
    assert result.reply_to is request and not result.ephemeral
    [(name, data)] = result.files.items()
    assert name == f"stylebot-{job_id}.png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "🎨 **mosaic**" in result.content and f"for <@{world.alice.id}>" in result.content
    assert "tg://" not in result.content
    assert labels(result) == [
        ["➕ Stronger", "➖ Weaker", "🖌 Bigger strokes", "✏ Smaller strokes"],
        ["🎨 Keep colours", "🎲 Another version", "🖼 Other style"],
        ["📄 Full-size file", "📩 Send to me privately", "✖ Delete"],
    ]
    assert all(len(row) <= 5 for row in labels(result))
    results = [m for m in fake.bot_messages(world.channel) if m.attachments and m is not status]
    assert results == [result], "delivered exactly once"
    assert status.content.startswith("✅ Done in") and status.components == []


async def test_a_failed_job_shows_the_failure_on_its_status_message(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        async with running_discord_bot(settings) as client:
            job_id, _, status = await request_job(fake, client, world.channel, world.alice)
            queued = await client.svc.jobs.status(job_id)
            assert queued is not None and queued.content_key is not None
            await asyncio.to_thread(client.svc.storage.put, queued.content_key, b"not a picture")  # spoilt on disk
            with workers(settings):
                await fake.until(lambda: status.content.startswith("❌"), "the failure", within_s=20)
            job = await client.svc.jobs.status(job_id)
            await fake.until(lambda: bool(status.edits) and status.components == [], "no Cancel")
        assert job is not None
    assert "couldn't read one of the pictures" in status.content
    assert not any(is_result_of(job_id)(m) for m in fake.bot_messages(world.channel))


async def test_status_edits_are_paced_show_progress_and_wait_out_a_429(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statuses, "MIN_EDIT_INTERVAL_S", 0.5)
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        async with running_discord_bot(settings) as client:
            job_id, _, status = await request_job(fake, client, world.channel, world.alice)
            fake.fail_next(EDIT_ROUTE, times=1, retry_after=0.6)
            with workers(settings, seconds=3.0):
                await bot_message(fake, world.channel, is_result_of(job_id), within_s=25)
                await fake.until(lambda: status.content.startswith("✅"), "the status closed")
    contents = [str(e.changes.get("content", "")) for e in status.edits]
    assert any("🖌 Painting with mosaic…" in c and "%" in c for c in contents), contents
    assert any(a.filename == statuses.PREVIEW_NAME for a in status.attachments) or any(
        "attachments" in e.changes for e in status.edits
    )
    # From the request's own edit that shows Cancel on, every edit is the delivery loop's.
    first = next(n for n, e in enumerate(status.edits) if e.changes.get("components"))
    paced = status.edits[first:]
    gaps = [b.at - a.at for a, b in itertools.pairwise(paced)]
    assert len(paced) >= 3 and min(gaps) >= 0.5, gaps
    waits = fake.waits_after_429(EDIT_ROUTE)
    assert waits and min(waits) >= 0.6, waits
    assert any(c.status == 200 for c in fake.calls_to(EDIT_ROUTE)[1:])


async def test_a_job_that_outlives_the_interaction_token_still_arrives(tmp_path: Path) -> None:
    async with fake_discord(token_ttl_s=0.5) as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        async with running_discord_bot(settings) as client:
            job_id, request, status = await request_job(fake, client, world.channel, world.alice)
            await asyncio.sleep(0.6)  # any interaction token of this request has expired
            expired_at = time.monotonic()
            with workers(settings, seconds=1.0):
                result = await bot_message(fake, world.channel, is_result_of(job_id), within_s=20)
    assert result.reply_to is request and result.attachments
    assert status.edits, "the status message was edited after the token expired"
    late = [c for c in fake.calls if c.at > expired_at]
    assert not [c for c in late if c.route.startswith(("POST /webhooks", "PATCH /webhooks"))]


async def test_without_send_permission_the_requester_gets_the_result_by_dm(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        async with running_discord_bot(settings) as client:
            job_id, _, _ = await request_job(fake, client, world.channel, world.alice)
            world.channel.overwrites.append(Overwrite(fake.app_id, 1, deny=SEND_MESSAGES | ATTACH_FILES))
            dm = world.dm(world.alice)
            with workers(settings):
                sent = await bot_message(fake, dm, lambda m: bool(m.attachments), within_s=20)
                await wait_state(client.svc.jobs, job_id, JobState.DELIVERED)
    assert f"couldn't post this in <#{world.channel.id}>" in sent.content and "🎨 **mosaic**" in sent.content
    assert next(iter(sent.files.values()))[:4] == b"\x89PNG"
    assert not any(is_result_of(job_id)(m) for m in fake.bot_messages(world.channel))
    assert len([m for m in fake.bot_messages(dm) if m.attachments]) == 1


async def test_an_oversized_result_is_sent_as_a_smaller_jpeg(tmp_path: Path) -> None:
    limit = 40_000
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake, default_size=256)
        async with running_discord_bot(settings) as client:
            photo = noise(256)
            assert len(photo) > limit
            job_id, _, _ = await request_job(fake, client, world.channel, world.alice, photo=photo)
            world.guild.attachment_size_limit = limit  # the server lost its boost meanwhile
            with workers(settings):
                result = await bot_message(fake, world.channel, is_result_of(job_id), within_s=20)
    [(name, data)] = result.files.items()
    assert name == f"stylebot-{job_id}.jpg" and data[:3] == b"\xff\xd8\xff" and len(data) <= limit
    assert "smaller JPEG" in result.content
    assert any(c.status == 413 for c in fake.calls_to("POST /channels/{channel_id}/messages"))


async def test_only_discord_jobs_are_delivered_by_the_discord_loop(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        async with running_discord_bot(settings) as client:
            svc = client.svc
            job_id, _, _ = await request_job(fake, client, world.channel, world.alice)
            discord_job = await svc.jobs.status(job_id)
            assert discord_job is not None
            telegram = NewJob(
                chat_id=1001,
                user_id=1001,
                message_id=77,
                content_key=discord_job.content_key or "",
                style_keys=discord_job.style_keys,
                params=JobParams(max_side=64, iterations=10),
                style_name="mosaic",
            )
            telegram_id = (await svc.jobs.enqueue(telegram)).job_id
            with workers(settings):
                await bot_message(fake, world.channel, is_result_of(job_id), within_s=20)
                await wait_state(client.svc.jobs, telegram_id, JobState.DONE)
            await asyncio.sleep(0.5)
            left = await svc.jobs.undelivered(Platform.TELEGRAM)
            assert [j.id for j in left] == [telegram_id]
            assert await svc.chat_state.delivery(telegram_id) is None
    assert len([m for m in fake.bot_messages(world.channel) if is_result_of(job_id)(m)]) == 1


async def wait_state(queue: BotQueue, job_id: int, state: JobState, within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        job = await queue.status(job_id)
        if job is not None and job.state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {state}")


async def test_a_restart_between_the_worker_finishing_and_delivery_delivers_exactly_once(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        settings = discord_settings(tmp_path, fake)
        async with running_discord_bot(settings) as client:
            job_id, request, _ = await request_job(fake, client, world.channel, world.alice)
        async with bot_stores(settings) as stores:
            with workers(settings):
                await wait_state(stores.jobs, job_id, JobState.DONE)
        assert not any(is_result_of(job_id)(m) for m in fake.bot_messages(world.channel))
        async with running_discord_bot(settings):
            result = await bot_message(fake, world.channel, is_result_of(job_id), within_s=20)
        async with running_discord_bot(settings):
            await asyncio.sleep(0.5)
    assert result.reply_to is request
    results = [m for m in fake.bot_messages(world.channel) if is_result_of(job_id)(m)]
    assert results == [result]
