"""The SQLite queue's own claim (Postgres uses procrastinate's): races between processes, leases, hand-backs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from jobs.bot_stores import BotStores
from jobs.models import JobOutcome, JobState
from jobs.queue.sqlite import SqliteWorkerQueue
from settings import Settings
from tests.support.backends import SQLITE, Backend
from tests.support.jobs import new_job


@pytest.fixture
def backend() -> Backend:
    return Backend(SQLITE)


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return backend.settings(tmp_path, lease_s=0.3, max_attempts=2)


def outcome(job_id: int) -> JobOutcome:
    return JobOutcome(f"users/1/jobs/{job_id}/result.png", 1, 1, 1, 1, 0.1, 0.0, 0.0)


async def enqueue(stores: BotStores, *users: int) -> list[int]:
    return [(await stores.jobs.enqueue(new_job(stores.storage, u, 1000 + n))).job_id for n, u in enumerate(users)]


async def test_one_per_user_can_be_turned_off(stores: BotStores, settings: Settings) -> None:
    a1, a2 = await enqueue(stores, 1, 1)
    queue = SqliteWorkerQueue(settings, one_per_user=False)
    try:
        assert [j.id for j in (queue.claim("w1"), queue.claim("w2")) if j] == [a1, a2]
    finally:
        queue.close()


async def test_racing_workers_never_run_a_job_twice(stores: BotStores, tmp_path: Path, backend: Backend) -> None:
    settings = backend.settings(tmp_path, lease_s=30.0)
    users = [n % 3 for n in range(60)]  # fewer users than workers: the per-user rule must hold some back
    ids = await enqueue(stores, *users)
    claims: list[int] = []
    running_users: set[int] = set()
    overlaps: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        queue = SqliteWorkerQueue(settings)  # its own connections, as in a separate process
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if len(claims) >= len(ids):  # every job was claimed (a duplicate claim ends this early)
                    break
            job = queue.claim(name)
            if job is None:
                time.sleep(0.005)  # the jobs left belong to users with a job running
                continue
            with lock:
                claims.append(job.id)
                if job.user_id in running_users:
                    overlaps.append(job.user_id)
                running_users.add(job.user_id)
            time.sleep(0.002)
            with lock:
                running_users.discard(job.user_id)
            queue.finish(job.id, name, outcome(job.id))
        queue.close()

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == ids
    assert Counter(claims).most_common(1)[0][1] == 1
    assert overlaps == []
    assert [s.state for s in await stores.jobs.undelivered()] == [JobState.DONE] * len(ids)


async def test_an_expired_lease_requeues_the_job_for_the_next_claim(
    stores: BotStores, settings: Settings, worker_queue: SqliteWorkerQueue
) -> None:
    (job_id,) = await enqueue(stores, 1)
    first = worker_queue.claim("dies")
    assert first is not None and first.attempt == 1
    assert worker_queue.claim("other") is None  # the lease is still valid
    await asyncio.sleep(settings.lease_s + 0.1)
    second = worker_queue.claim("other")
    assert second is not None and (second.id, second.attempt) == (job_id, 2)
    worker_queue.finish(job_id, "dies", outcome(job_id))  # the first worker's late result is ignored
    assert (await stores.jobs.status(job_id)).state is JobState.RUNNING  # type: ignore[union-attr]


async def test_heartbeats_keep_the_lease(
    stores: BotStores, settings: Settings, worker_queue: SqliteWorkerQueue
) -> None:
    (job_id,) = await enqueue(stores, 1)
    assert worker_queue.claim("w") is not None
    for _ in range(4):  # well past one lease, kept alive by heartbeats
        await asyncio.sleep(settings.lease_s / 2)
        assert worker_queue.heartbeat(job_id, "w", iteration=5, total=10, eta_s=3.0)
    assert worker_queue.claim("other") is None
