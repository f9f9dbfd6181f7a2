"""The Postgres queue's upkeep: the workers keep the planner's picture of procrastinate's job table current, and
take a job back only from a worker that is gone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import psycopg
import pytest
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status

from jobs.bot_stores import BotStores, open_bot_stores
from jobs.database import libpq_url
from jobs.models import JobState
from jobs.queue.postgres import (
    ANALYZE_AFTER_CHANGES,
    PostgresWorkerQueue,
    make_app,
    recover_stalled,
    refresh_statistics,
)
from jobs.queue.worker_side import WorkerQueueBase
from settings import Settings
from tests.support.backends import Backend, postgres_backend
from tests.support.jobs import STALE_HEARTBEATS, Dispenser, new_job, queue_app


def sql(url: str, statement: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(statement)


def planned_rows(url: str) -> float:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'procrastinate_jobs'").fetchone()
    assert row is not None
    return float(row[0])


async def test_a_queue_that_grew_quickly_is_analyzed_once(postgres_url: str, tmp_path: Path) -> None:
    """A burst of requests lands between two autovacuum rounds: a worker's upkeep analyzes the table, so the
    planner sees the real queue; with nothing changed since, it does not analyze again."""
    stores = await open_bot_stores(Settings(data_dir=tmp_path, database_url=postgres_url))
    sql(postgres_url, "ALTER TABLE procrastinate_jobs SET (autovacuum_enabled = false)")  # its round is not now
    try:
        for n in range(2 * ANALYZE_AFTER_CHANGES):
            await stores.jobs.enqueue(new_job(stores.storage, n % 40 + 1, n))
    finally:
        await stores.close()  # a backend that ends reports its table changes at once
    assert planned_rows(postgres_url) <= 0  # never analyzed: planned as empty

    app = make_app(postgres_url)
    async with app.open_async():
        deadline = time.monotonic() + 20  # the statistics collector may take a moment
        while not await refresh_statistics(app):
            assert time.monotonic() < deadline, "the burst was never seen as a change"
            await asyncio.sleep(0.2)
        assert planned_rows(postgres_url) == 2 * ANALYZE_AFTER_CHANGES
        assert not await refresh_statistics(app)


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Backend:
    return postgres_backend(request, monkeypatch)


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return backend.settings(tmp_path, lease_s=30.0)  # no lease runs out unless a test says so


async def test_a_job_whose_worker_still_renews_its_lease_is_not_taken_from_it(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    """procrastinate's heartbeat of the worker stopped (a database outage stops it), but the painting goes on and
    renews the job's lease: the job stays with its worker."""
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    assert await dispenser.take("w1") is not None
    await asyncio.to_thread(worker_queue.db.execute, STALE_HEARTBEATS)
    app = queue_app(stores)
    assert app is not None and isinstance(worker_queue, PostgresWorkerQueue)
    assert await recover_stalled(app, worker_queue, stalled_after_s=60) == []
    status = await stores.jobs.status(job_id)
    assert status is not None and status.state is JobState.RUNNING
    assert worker_queue.heartbeat(job_id, "w1", iteration=1, total=2)  # still its job


async def test_the_late_end_of_a_lost_worker_leaves_the_job_waiting(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    """A worker's job was taken back and queued again; then that worker's paint task ends after all (procrastinate
    deletes the job it ran): the job still waits, and the next worker gets it."""
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    assert await dispenser.take("w1") is not None
    app = queue_app(stores)
    assert app is not None
    first_queue_job = dispenser._queue_ids[job_id]
    await dispenser.lose_worker(job_id)
    with contextlib.suppress(ConnectorException):  # what the first worker's procrastinate does at the task's end
        await app.job_manager.finish_job_by_id_async(first_queue_job, status=Status.SUCCEEDED, delete_job=True)
    again = await dispenser.take("w2")
    assert again is not None and again.id == job_id and again.attempt == 2
    await dispenser.done(job_id)
