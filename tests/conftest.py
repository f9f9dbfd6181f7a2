"""Fixtures shared by the job-system tests: a module may override `settings` (e.g. a shorter lease)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jobs.store import Database, open_store
from jobs.worker_store import SqliteWorkerQueue
from stylebot.config import Settings
from tests.jobs_support import make_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    async with open_store(settings) as database:
        yield database


@pytest.fixture
def queue(settings: Settings, db: Database) -> Iterator[SqliteWorkerQueue]:
    worker_queue = SqliteWorkerQueue(settings)
    yield worker_queue
    worker_queue.close()
