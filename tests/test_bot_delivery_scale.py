"""The delivery loop under load, through the fake Bot API with the real client and Telegram's rate limiter.

Each test runs on SQLite + a folder and on Postgres + S3: many queued jobs with status messages, results sent first
and fast, status messages edited only when their text changes, Telegram's limits kept, one bad job harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.core.captions import queued_text, status_text
from bot.core.delivery import queue_mirror
from bot.core.services import Services, Tuning
from bot.telegram.app import build_application, default_rate_limiter, serve
from bot.telegram.delivery import Delivery
from jobs import keys
from jobs.bot_stores import BotStores
from jobs.models import ClaimedJob, JobOutcome, JobParams, NewJob
from jobs.queue.worker_side import WorkerQueueBase
from settings import Settings
from tests.support.bot import ALICE, FAST, bot_settings, is_result, is_status, private
from tests.support.fakebotapi import Call, FakeBotApi
from tests.support.jobs import Dispenser
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(90)

GOT_IT = queued_text(None, "mosaic")  # what a status message says before its position is known
GROUP_ID = -100777
RESULT = picture(fmt="PNG")


@pytest.fixture
def bot_config(tmp_path: Path, api: FakeBotApi, settings: Settings) -> Settings:
    """The backend's settings, talking to the fake Bot API (with presets, for the /style flow)."""
    return bot_settings(tmp_path, api, database_url=settings.database_url, storage_url=settings.storage_url)


@contextlib.asynccontextmanager
async def running(settings: Settings, tuning: Tuning = FAST) -> AsyncIterator[Any]:
    """The real bot, with the production rate limiter (Telegram's 30 a second, 20 a minute per group)."""
    app = build_application(settings, tuning=tuning, rate_limiter=default_rate_limiter())
    async with serve(app, poll_timeout=1):
        yield app


async def queue_many(
    api: FakeBotApi,
    stores: BotStores,
    count: int,
    *,
    first_user: int,
    chat_id: int | None = None,
    one_user: bool = False,
) -> list[int]:
    """`count` queued jobs, one per user (or all of `first_user`), each with a status message that still says
    "Got it" (its position moved since it was posted, say)."""
    key = keys.upload_key(first_user, "shared", ".png")
    await asyncio.to_thread(stores.storage.put, key, picture(fmt="PNG"))
    ids = []
    for n in range(count):
        user = first_user if one_user else first_user + n
        chat = chat_id if chat_id is not None else user
        job = NewJob(
            chat_id=chat,
            user_id=user,
            message_id=first_user + n,
            content_key=key,
            style_keys=(key,),
            params=JobParams(max_side=64, iterations=10),
            style_name="mosaic",
            user_name=f"user{user}",
            chat_type="private" if chat > 0 else "supergroup",
        )
        job_id = (await stores.jobs.enqueue(job)).job_id
        await stores.jobs.set_status_message(job_id, api.bot_photo(chat, GOT_IT)["message_id"])
        ids.append(job_id)
    return ids


async def finish_next(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> tuple[ClaimedJob, float]:
    """Take the next job as a worker would and finish it at once; the job, and when it finished (monotonic)."""
    claimed = await dispenser.take()
    assert claimed is not None
    await asyncio.to_thread(stores.storage.put, claimed.result_key, RESULT)
    outcome = JobOutcome(claimed.result_key, 64, 48, 10, 10, 1.0, 0.1, 0.2)
    await asyncio.to_thread(worker_queue.finish, claimed.id, "w", outcome)
    finished = time.monotonic()
    await dispenser.done(claimed.id)
    return claimed, finished


def chat_calls(api: FakeBotApi) -> list[Call]:
    """Every call about a chat (what Telegram's flood limits count)."""
    return [c for c in api.calls if c.chat_id is not None]


def busiest(calls: Iterable[Call], window_s: float) -> int:
    """The most calls in any window of `window_s` seconds."""
    times = sorted(c.at for c in calls)
    most = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - window_s:
            start += 1
        most = max(most, end - start + 1)
    return most


def status_edits(api: FakeBotApi, message_id: int | None = None) -> list[Call]:
    return [
        c
        for c in api.calls
        if c.method in ("editMessageCaption", "editMessageMedia")
        and (message_id is None or int(c.params["message_id"]) == message_id)
    ]


async def test_result_arrives_within_2s_while_hundreds_wait(
    api: FakeBotApi, bot_config: Settings, stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    """300 waiting jobs whose status messages all need an edit: a job that finishes is delivered within 2 s anyway
    (the old loop edited every status one by one, at Telegram's 30 a second, before it looked for results again)."""
    await queue_many(api, stores, 300, first_user=5000)
    async with running(bot_config):
        await api.wait_for("editMessageCaption", within_s=10)  # the status edits are under way
        job, finished = await finish_next(stores, worker_queue, dispenser)
        [result] = await api.wait_for("sendPhoto", is_result, within_s=10)
        assert result.chat_id == job.user_id  # each user asked in their private chat
        assert result.at - finished <= 2.0, f"result sent {result.at - finished:.1f} s after the job finished"
        assert len(status_edits(api)) < 300, "the edits were still going on when the result went out"


async def test_status_not_edited_when_its_text_did_not_change(
    api: FakeBotApi, bot_config: Settings, stores: BotStores, dispenser: Dispenser
) -> None:
    """A status is edited when its text changes and only then: not when jobs queue up behind it, and not after a
    restart of the bot (the old loop edited every status again after a restart: Telegram answers "not modified")."""
    async with running(bot_config):
        api.user_photo(private(ALICE), ALICE, picture(), caption="/style mosaic")
        [posted] = await api.wait_for("sendPhoto", is_status)
        assert "next in line" in posted.caption
        message_id = api.message(posted)["message_id"]
        await queue_many(api, stores, 5, first_user=6000)  # behind Alice's job: her position stays 1
        await api.wait_for("editMessageCaption", count=5)  # their statuses get their positions
        await asyncio.sleep(0.5)  # ten rounds more
        assert status_edits(api, message_id) == []
    edited = len(status_edits(api))
    assert edited == 5

    async with running(bot_config):  # a restart: nothing changed meanwhile, so nothing is edited
        await asyncio.sleep(0.6)
        assert len(status_edits(api)) == edited, [c.caption for c in status_edits(api)[edited:]]
        claimed = await dispenser.take()  # Alice's job starts: now her status changes
        assert claimed is not None
        await api.wait_for(
            "editMessageCaption", lambda c: int(c.params["message_id"]) == message_id and "Painting" in c.caption
        )
        assert [c.status for c in status_edits(api)] == [200] * len(status_edits(api)), "no edit was a no-op"


async def test_rates_stay_within_telegram_limits(
    api: FakeBotApi, bot_config: Settings, stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    """150 statuses to bring up to date while jobs start and finish: never more than 30 calls in a second, at most
    20 a minute into a group, and status edits in a private chat at least status_interval_s apart."""
    config = dataclasses.replace(bot_config, status_interval_s=0.5)
    await queue_many(api, stores, 12, first_user=7000)  # these finish during the test
    await queue_many(api, stores, 30, first_user=8000, chat_id=GROUP_ID)  # near the front: edited from the start
    await queue_many(api, stores, 108, first_user=7100)
    async with running(config):
        for _ in range(12):  # jobs start and finish: every waiting job moves up
            await finish_next(stores, worker_queue, dispenser)
            await asyncio.sleep(0.25)
        await api.wait_for("sendPhoto", is_result, count=12, within_s=10)
    calls = chat_calls(api)
    assert busiest(calls, 1.0) <= 30
    group = [c for c in calls if c.chat_id == GROUP_ID]
    assert group, "the group's statuses were edited too"
    assert len(group) <= 20  # the whole test took less than a minute
    by_chat: dict[int, list[float]] = {}
    for call in status_edits(api):
        by_chat.setdefault(int(call.params["chat_id"]), []).append(call.at)
    gaps = [b - a for times in by_chat.values() for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.5 - 0.05 for gap in gaps), min(gaps)


async def test_an_error_delivering_one_job_does_not_stop_the_others(
    api: FakeBotApi,
    settings: Settings,
    stores: BotStores,
    worker_queue: WorkerQueueBase,
    dispenser: Dispenser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading one result fails (not a Telegram error): the other job is delivered in the same round, and the
    broken one once it can be read again."""
    await queue_many(api, stores, 2, first_user=9000)
    broken, _ = await finish_next(stores, worker_queue, dispenser)
    fine, _ = await finish_next(stores, worker_queue, dispenser)
    read = stores.storage.get

    def failing_get(key: str) -> bytes:
        if key == broken.result_key:
            raise OSError("the disk holding this picture is gone")
        return read(key)

    svc = Services(settings=settings, tuning=Tuning(delivery_poll_s=0.05), stores=stores)
    async with Bot(api.token, base_url=api.api_url, base_file_url=api.file_url) as bot:
        delivery = Delivery(bot, svc)
        with monkeypatch.context() as patch:
            patch.setattr(stores.storage, "get", failing_get)
            await delivery.tick()
        assert [job.id for job in await stores.jobs.undelivered()] == [broken.id]
        assert [c.chat_id for c in api.calls_to("sendPhoto") if is_result(c)] == [fine.user_id]
        await asyncio.sleep(0.1)  # its retry pause
        await delivery.tick()
    assert await stores.jobs.undelivered() == []
    assert [c.chat_id for c in api.calls_to("sendPhoto") if is_result(c)] == [fine.user_id, broken.user_id]


async def test_positions_shown_follow_the_queue(
    api: FakeBotApi,
    settings: Settings,
    stores: BotStores,
    worker_queue: WorkerQueueBase,
    dispenser: Dispenser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loop keeps the queue in memory and reads only what changed, yet every status shows what the store says
    after a cancel, a /forget, a start, a worker handing its job back, and new jobs that go ahead of older ones."""
    config = dataclasses.replace(settings, status_interval_s=0.0)
    svc = Services(settings=config, tuning=Tuning(delivery_poll_s=1.0), stores=stores)

    async def check(delivery: Delivery) -> None:
        await delivery.tick()
        await delivery.tick()
        for job_id in [job_id for _, job_id in await stores.jobs.queued_keys()]:
            status = await stores.jobs.status(job_id)
            assert status is not None and status.status_message_id is not None
            shown = api.messages[(status.chat_id, status.status_message_id)]["caption"]
            assert shown == status_text(status), (job_id, status.position)

    first, _ = await queue_many(api, stores, 2, first_user=9100, one_user=True)  # one user: turns 0 and 1
    others = await queue_many(api, stores, 4, first_user=9200)
    async with Bot(api.token, base_url=api.api_url, base_file_url=api.file_url) as bot:
        delivery = Delivery(bot, svc)
        await check(delivery)
        monkeypatch.setattr(queue_mirror, "RESYNC_S", 0.0)  # every round also re-reads the queue's (turn, id)
        assert await stores.jobs.cancel(others[1])
        await stores.jobs.forget_user(9203)
        # First jobs of new users, ahead of that user's second (on SQLite one gets the id of the forgotten job).
        for job_id in await queue_many(api, stores, 2, first_user=9300):
            delivery.note_status(job_id, GOT_IT)  # as the handler that posted its status message does
        claimed = await dispenser.take()
        assert claimed is not None and claimed.id == first
        await check(delivery)
        cancelled = await stores.jobs.status(others[1])
        assert cancelled is not None and cancelled.status_message_id is not None
        assert api.messages[(cancelled.chat_id, cancelled.status_message_id)]["caption"] == "⏹ Cancelled."

        monkeypatch.setattr(queue_mirror, "RESYNC_S", 1e9)
        monkeypatch.setattr(queue_mirror.QueueMirror, "_limbo_s", lambda self: 0.0)
        assert await asyncio.to_thread(worker_queue.release, first, "w") is not None  # back in its old place
        await dispenser.done(first)
        await check(delivery)
        status = await stores.jobs.status(first)
        assert status is not None and status.position == 1
