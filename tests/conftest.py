"""Fixtures shared by the job-system tests. `settings` follows `backend`, so a test that uses it runs on SQLite +
a local folder and on Postgres + S3; a module may override `backend` or `settings` (e.g. a shorter lease)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jobs.bot_stores import BotStores, bot_stores
from jobs.queue import open_worker_queue
from jobs.queue.worker_side import WorkerQueueBase
from settings import Settings
from tests.support.backends import Backend
from tests.support.bot import fake_api
from tests.support.fakebotapi import FakeBotApi
from tests.support.jobs import Dispenser

pytest_plugins = ["tests.support.servers", "tests.support.backends"]


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return backend.settings(tmp_path)


@pytest.fixture
async def stores(settings: Settings) -> AsyncIterator[BotStores]:
    async with bot_stores(settings) as opened:
        yield opened


@pytest.fixture
def worker_queue(settings: Settings, stores: BotStores) -> Iterator[WorkerQueueBase]:
    store = open_worker_queue(settings)
    yield store
    store.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Telegram Bot API, running (tests that start a bot of their own use tests.support.bot.fake_api)."""
    async with fake_api() as running:
        yield running


@pytest.fixture
def dispenser(stores: BotStores, worker_queue: WorkerQueueBase) -> Dispenser:
    return Dispenser(stores, worker_queue)
