"""Stored ids scoped by platform, on both backends: a Discord user and a Telegram user with the same number are two
people (quotas, history, /forget, deliveries), and each front end delivers only its own jobs."""

from __future__ import annotations

import pytest

from jobs.bot_stores import BotStores, open_bot_stores
from jobs.identities import Platform, platform_of
from jobs.models import JobOutcome
from jobs.queue.worker_side import WorkerQueueBase
from settings import Settings
from tests.support.jobs import Dispenser, new_job
from tests.support.pictures import picture

SNOWFLAKE = 1_187_000_000_000_000_000  # a Discord id of 2023


async def test_a_telegram_id_is_stored_as_it_is_and_a_discord_id_gets_its_own(
    stores: BotStores, settings: Settings
) -> None:
    ids = stores.identities
    assert await ids.stored_id(Platform.TELEGRAM, 42) == 42
    assert await ids.stored_id(Platform.TELEGRAM, -1001234567890) == -1001234567890  # a supergroup
    discord_42 = await ids.stored_id(Platform.DISCORD, 42)
    snowflake = await ids.stored_id(Platform.DISCORD, SNOWFLAKE)
    assert len({42, discord_42, snowflake}) == 3
    assert platform_of(discord_42) is Platform.DISCORD and platform_of(42) is Platform.TELEGRAM
    assert await ids.stored_id(Platform.DISCORD, 42) == discord_42  # the same person, again
    assert await ids.external_id(discord_42) == 42 and await ids.external_id(snowflake) == SNOWFLAKE
    restarted = await open_bot_stores(settings)  # nothing but the database remembers
    try:
        assert await restarted.identities.stored_id(Platform.DISCORD, SNOWFLAKE) == snowflake
        assert await restarted.identities.external_id(discord_42) == 42
        assert await restarted.identities.external_id(discord_42 + 1000) is None
    finally:
        await restarted.close()
    with pytest.raises(ValueError):
        await ids.stored_id(Platform.TELEGRAM, SNOWFLAKE)  # past what Telegram's ids can be


async def test_same_number_on_two_platforms_is_two_people(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    discord_7 = await stores.identities.stored_id(Platform.DISCORD, 7)
    telegram_job = (await stores.jobs.enqueue(new_job(stores.storage, 7, 1))).job_id
    discord_job = (await stores.jobs.enqueue(new_job(stores.storage, discord_7, 1))).job_id
    assert telegram_job != discord_job  # the same message number in "chat 7" of each platform: two requests
    assert await stores.jobs.count_today(7) == 1 and await stores.jobs.count_today(discord_7) == 1
    for _ in range(2):
        job = await dispenser.take("w")
        assert job is not None
        stores.storage.put(job.result_key, picture(fmt="PNG"))
        worker_queue.finish(job.id, "w", JobOutcome(job.result_key, 32, 24, 1, 1, 0.1, 0.0, 0.0))
        await dispenser.done(job.id)

    assert [j.id for j in await stores.jobs.undelivered(Platform.TELEGRAM)] == [telegram_job]
    assert [j.id for j in await stores.jobs.undelivered(Platform.DISCORD)] == [discord_job]
    assert [j.id for j in await stores.jobs.history(discord_7)] == [discord_job]
    assert await stores.jobs.forget_user(discord_7) == 1
    assert [j.id for j in await stores.jobs.history(7)] == [telegram_job]  # the Telegram user keeps theirs


async def test_each_platform_sees_its_own_active_jobs_with_positions_in_the_one_queue(stores: BotStores) -> None:
    discord_user = await stores.identities.stored_id(Platform.DISCORD, SNOWFLAKE)
    first = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    second = (await stores.jobs.enqueue(new_job(stores.storage, discord_user, 1))).job_id
    assert [(j.id, j.position) for j in await stores.jobs.active(Platform.DISCORD)] == [(second, 2)]
    assert [(j.id, j.position) for j in await stores.jobs.active(Platform.TELEGRAM)] == [(first, 1)]
    assert len(await stores.jobs.active()) == 2
