"""Outages of the real servers (Postgres stopped in immediate mode, the S3 store stopped): `stylebot worker`
processes ride them out (no process exits, no job is lost, failed or run twice, each user gets exactly one result),
and /forget says when the store refused its deletions."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest

from jobs.bot_queue import ForgetIncomplete
from jobs.bot_stores import BotStores, bot_stores
from jobs.database import libpq_url
from jobs.models import JobState
from jobs.retention import prune
from presence import heartbeat_age, worker_name
from settings import Settings
from tests.support.jobs import new_job, wait_for, wait_state
from tests.support.servers import PostgresServer, S3Server
from tests.support.settings import make_settings
from worker.pool import PROJECT_ROOT

pytestmark = pytest.mark.timeout(180)

OUTAGE_S = 8.0  # several leases: long enough for every heartbeat to go stale


class Workers:
    """`python -m worker` processes on these settings, each with its log."""

    def __init__(self, settings: Settings, tmp_path: Path, engine_seconds: float, env: dict[str, str]) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            **env,
            **settings.to_env(secrets=False),
            "PYTHONPATH": str(PROJECT_ROOT),
            "STYLEBOT_ENGINE_FACTORY": "tests.support.fake_engine:make_engine",
            "FAKE_ENGINE_SECONDS": str(engine_seconds),
        }
        self.procs: dict[str, asyncio.subprocess.Process] = {}

    async def start(self, worker_id: str) -> None:
        log = (self.tmp_path / f"{worker_id}.log").open("ab")
        self.procs[worker_id] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", "--worker-id", worker_id,
            env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=log,
        )

    async def ready(self, worker_id: str) -> None:
        async def beating() -> bool:
            return heartbeat_age(self.settings.data_dir, worker_name(worker_id)) is not None

        await wait_for(beating, within=60, interval=0.1)

    def log(self, worker_id: str) -> str:
        return (self.tmp_path / f"{worker_id}.log").read_text()

    def assert_all_running(self) -> None:
        exited = {name: proc.returncode for name, proc in self.procs.items() if proc.returncode is not None}
        assert not exited, f"exited: {exited}\n" + "\n".join(self.log(name)[-3000:] for name in exited)

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[BotStores]:
    async with bot_stores(settings) as stores:
        yield stores


async def exactly_one_result_each(settings: Settings, job_ids: list[int]) -> None:
    async with opened(settings) as stores:
        for job_id in job_ids:
            done = await wait_state(stores.jobs, job_id, JobState.DONE, JobState.FAILED, JobState.CANCELLED,
                                    within=60)
            assert done.state is JobState.DONE and done.result_key is not None, done
            assert stores.storage.exists(done.result_key)
        undelivered = [status.id for status in await stores.jobs.undelivered()]
        assert sorted(undelivered) == sorted(job_ids)  # each once
        for job_id in job_ids:
            await stores.jobs.mark_delivered(job_id)
        assert await stores.jobs.undelivered() == []


def live_queue_jobs(database_url: str) -> int:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')").fetchone()
    assert row is not None
    return int(row[0])


async def test_workers_ride_out_a_database_outage_mid_painting(tmp_path: Path) -> None:
    """Postgres stops (immediate mode) while two workers paint: both workers stay up, reconnect and record their
    results; neither job runs twice, and each user gets exactly one result."""
    server = PostgresServer(tmp_path / "postgres", durable=True)  # an immediate stop keeps what was committed
    server.start()
    workers: Workers | None = None
    try:
        settings = make_settings(tmp_path, database_url=server.create_database("stylebot"), lease_s=1.5,
                                 heartbeat_s=0.3)
        async with opened(settings) as stores:
            job_ids = [(await stores.jobs.enqueue(new_job(stores.storage, user, 1, iterations=50))).job_id
                       for user in (1, 2)]
        workers = Workers(settings, tmp_path, engine_seconds=5.0, env={})
        for name in ("w1", "w2"):
            await workers.start(name)
        async with opened(settings) as stores:
            for job_id in job_ids:
                await wait_state(stores.jobs, job_id, JobState.RUNNING, within=60)
        server.stop(mode="immediate")
        await asyncio.sleep(OUTAGE_S)
        workers.assert_all_running()
        server.start()
        await exactly_one_result_each(settings, job_ids)
        async with opened(settings) as stores:
            for job_id in job_ids:
                status = await stores.jobs.status(job_id)
                assert status is not None and status.attempts == 1  # its worker was never gone
        workers.assert_all_running()

        async def queue_empty() -> bool:  # procrastinate's queue agrees: nothing left to run (its acknowledgement of
            return live_queue_jobs(settings.database) == 0  # the last job may follow the result by its pool's retry)

        await wait_for(queue_empty, within=30, interval=0.2)
    finally:
        if workers is not None:
            await workers.stop()
        server.close()


async def test_workers_ride_out_a_picture_store_outage(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The S3 store stops with two requests waiting: a running worker takes them and can't read their pictures (they
    wait, "delayed"), a worker started meanwhile waits for the store; once it is back each user gets one result."""
    s3 = S3Server(tmp_path / "s3")
    s3.start()
    workers: Workers | None = None
    try:
        s3.create_bucket("outage")
        for name, value in s3.env().items():
            monkeypatch.setenv(name, value)
        settings = make_settings(tmp_path, database_url=postgres_url, storage_url="s3://outage/stylebot",
                                 lease_s=1.5, heartbeat_s=0.3, storage_retry_s=0.5)
        workers = Workers(settings, tmp_path, engine_seconds=0.5, env=s3.env())
        await workers.start("early")
        await workers.ready("early")
        async with opened(settings) as stores:
            requests = [new_job(stores.storage, user, 1) for user in (1, 2)]  # their pictures are stored
            s3.stop()
            job_ids = [(await stores.jobs.enqueue(request)).job_id for request in requests]
            await workers.start("late")

            async def delayed() -> bool:
                statuses = [await stores.jobs.status(job_id) for job_id in job_ids]
                return any(s is not None and s.error_code == "storage_unavailable" for s in statuses)

            await wait_for(delayed, within=60, interval=0.1)
            await asyncio.sleep(OUTAGE_S / 2)
            workers.assert_all_running()
            s3.restart()
        await exactly_one_result_each(settings, job_ids)
        workers.assert_all_running()
        assert "late: waiting for the picture storage" in workers.log("late")
    finally:
        if workers is not None:
            await workers.stop()
        s3.stop()


async def test_forget_during_a_picture_store_outage_says_so_and_the_sweep_deletes_them_later(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/forget while the S3 store refuses every deletion (stopped): the user's rows go at once, the answer says the
    pictures are not all deleted yet, and the retention sweep deletes them once the store is back."""
    s3 = S3Server(tmp_path / "s3")
    s3.start()
    try:
        s3.create_bucket("forget")
        for name, value in s3.env().items():
            monkeypatch.setenv(name, value)
        settings = make_settings(tmp_path, database_url=postgres_url, storage_url="s3://forget/stylebot")
        async with opened(settings) as stores:
            job_id = (await stores.jobs.enqueue(new_job(stores.storage, 7, 1))).job_id
            left = {item.key for item in stores.storage.objects("users/7/")}
            assert left  # the photo and the style of the request
            s3.stop()
            with pytest.raises(ForgetIncomplete) as refused:
                await stores.jobs.forget_user(7)
            assert refused.value.removed == 1 and "not" in str(refused.value)
            assert await stores.jobs.status(job_id) is None  # the rows are gone all the same
            s3.restart()
            assert {item.key for item in stores.storage.objects("users/7/")} == left  # nothing was deleted
            later = time.time() + 2 * 3600  # past the grace for pictures being written right now
            await prune(stores.database, stores.storage, older_than_s=30 * 24 * 3600, now=later)
            assert list(stores.storage.objects("users/7/")) == []
    finally:
        s3.stop()
