"""The delivery loop on its own: exactly once even when the bot dies between sending and marking."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from telegram import Bot

from bot.core.services import Services, Tuning
from bot.telegram.delivery import Delivery
from jobs.bot_stores import BotStores, open_bot_stores
from jobs.models import JobOutcome
from jobs.queue.sqlite import SqliteWorkerQueue
from settings import Settings
from tests.support.backends import SQLITE, Backend
from tests.support.fakebotapi import FakeBotApi
from tests.support.jobs import new_job
from tests.support.pictures import picture


@pytest.fixture
def backend() -> Backend:
    return Backend(SQLITE)


async def finished_job(
    stores: BotStores, worker_queue: SqliteWorkerQueue, *, chat_id: int, failed: bool = False
) -> int:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, chat_id, 50, chat_id=chat_id))).job_id
    claimed = worker_queue.claim("w")
    assert claimed is not None and claimed.id == job_id
    if failed:
        worker_queue.fail(job_id, "w", "internal")  # type: ignore[arg-type]
    else:
        stores.storage.put(claimed.result_key, picture(fmt="PNG"))
        worker_queue.finish(job_id, "w", JobOutcome(claimed.result_key, 64, 48, 10, 10, 1.0, 0.1, 0.2))
    return job_id


async def tick(api: FakeBotApi, settings: Settings, stores: BotStores) -> None:
    svc = Services(settings=settings, tuning=Tuning(), stores=stores)
    async with Bot(api.token, base_url=api.api_url, base_file_url=api.file_url) as bot:
        await Delivery(bot, svc).tick()


async def test_crash_between_send_and_mark_does_not_send_twice(
    api: FakeBotApi,
    settings: Settings,
    stores: BotStores,
    worker_queue: SqliteWorkerQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job_id = await finished_job(stores, worker_queue, chat_id=1001)

    async def bot_dies(job_id: int) -> bool:
        raise RuntimeError("the bot died right after sending")

    with monkeypatch.context() as patch:
        patch.setattr(stores.jobs, "mark_delivered", bot_dies)
        await tick(api, settings, stores)  # the error is logged; the job stays undelivered
    assert [job.id for job in await stores.jobs.undelivered()] == [job_id]
    restarted = await open_bot_stores(settings)  # the next bot process, on the same database
    try:
        await tick(api, settings, restarted)
        assert await restarted.jobs.undelivered() == []
    finally:
        await restarted.close()
    assert len(api.calls_to("sendPhoto")) == 1
    assert (await stores.jobs.status(job_id)).outcome is not None  # type: ignore[union-attr]


async def test_a_failed_record_of_the_delivery_does_not_send_twice(
    api: FakeBotApi,
    settings: Settings,
    stores: BotStores,
    worker_queue: SqliteWorkerQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The result was sent, then writing its record failed (the database unavailable for that write): the retry
    records it and sends nothing again."""
    job_id = await finished_job(stores, worker_queue, chat_id=1001)

    async def database_unavailable(*args: object) -> None:
        raise OperationalError("INSERT INTO deliveries", {}, Exception("database is locked"))

    async with Bot(api.token, base_url=api.api_url, base_file_url=api.file_url) as bot:
        delivery = Delivery(bot, Services(settings=settings, tuning=Tuning(), stores=stores))
        with monkeypatch.context() as patch:
            patch.setattr(stores.chat_state, "record_delivery", database_unavailable)
            await delivery.tick()  # sent; the record failed: logged, to be tried again
        assert await stores.chat_state.delivery(job_id) is None
        assert [job.id for job in await stores.jobs.undelivered()] == [job_id]
        delivery._results._retry.clear()  # due again now
        await delivery.tick()
    assert await stores.jobs.undelivered() == []
    [sent] = api.calls_to("sendPhoto")
    record = await stores.chat_state.delivery(job_id)
    assert record is not None and record.message_id == api.message(sent)["message_id"]


async def test_unreachable_chat_is_marked_and_does_not_block(
    api: FakeBotApi, settings: Settings, stores: BotStores, worker_queue: SqliteWorkerQueue
) -> None:
    await finished_job(stores, worker_queue, chat_id=1001, failed=True)
    job_id = (await stores.jobs.undelivered())[0].id
    await stores.jobs.set_status_message(job_id, 12345)  # a status message that no longer exists
    await tick(api, settings, stores)
    assert await stores.jobs.undelivered() == []
    # The status message was gone, so the failure was posted as a new message instead.
    [sent] = api.calls_to("sendMessage")
    assert sent.text.startswith("❌")


async def test_status_says_when_no_painter_is_running(
    tmp_path: Path, settings: Settings, stores: BotStores, worker_queue: SqliteWorkerQueue
) -> None:
    svc = Services(settings=settings, tuning=Tuning(), stores=stores)
    delivery = Delivery(None, svc)  # type: ignore[arg-type]
    assert await delivery._mirror._painters_online()  # just started: workers may still be loading the engine
    delivery._mirror._started_at -= 3600
    assert not await delivery._mirror._painters_online()  # an hour up and no worker has ever reported
    worker_queue.worker_seen("gpu-1:7")  # a worker on any machine
    assert await delivery._mirror._painters_online()
