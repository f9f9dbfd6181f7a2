"""The Postgres queue's upkeep: the workers keep the planner's picture of procrastinate's job table current."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg

from jobs.bot_stores import open_bot_stores
from jobs.database import libpq_url
from jobs.queue.postgres import ANALYZE_AFTER_CHANGES, make_app, refresh_statistics
from settings import Settings
from tests.support.jobs import new_job


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
