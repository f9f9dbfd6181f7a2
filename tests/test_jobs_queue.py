"""The workers' side of the queue: order, fairness, races, leases and hand-backs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from jobs.models import ErrorCode, JobOutcome, JobState
from jobs.store import Database
from jobs.worker_store import SqliteWorkerQueue
from stylebot.config import Settings
from tests.jobs_support import make_settings, new_job

OUTCOME = JobOutcome(Path("result.png"), 1, 1, 1, 1, 0.1, 0.0, 0.0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, lease_s=0.3, max_attempts=2)


async def enqueue(db: Database, settings: Settings, *users: int) -> list[int]:
    ids = []
    for n, user in enumerate(users):
        ids.append((await db.jobs.enqueue(new_job(settings, user_id=user, message_id=1000 + n))).job_id)
    return ids


async def test_fifo_across_users(db: Database, settings: Settings, queue: SqliteWorkerQueue) -> None:
    ids = await enqueue(db, settings, 3, 1, 2)
    claimed = [queue.claim(f"w{n}") for n in range(3)]
    assert [job.id for job in claimed if job] == ids
    assert queue.claim("w9") is None


async def test_one_running_job_per_user(db: Database, settings: Settings, queue: SqliteWorkerQueue) -> None:
    a1, a2, b1 = await enqueue(db, settings, 1, 1, 2)
    first, second = queue.claim("w1"), queue.claim("w2")
    assert first is not None and second is not None
    assert (first.id, second.id) == (a1, b1)  # user 1's second job waits for their first
    assert queue.claim("w3") is None
    queue.finish(a1, "w1", OUTCOME)
    third = queue.claim("w3")
    assert third is not None and third.id == a2


async def test_one_per_user_can_be_turned_off(db: Database, settings: Settings) -> None:
    a1, a2 = await enqueue(db, settings, 1, 1)
    queue = SqliteWorkerQueue(settings, one_per_user=False)
    assert [j.id for j in (queue.claim("w1"), queue.claim("w2")) if j] == [a1, a2]
    queue.close()


async def test_racing_workers_never_run_a_job_twice(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lease_s=30.0)
    users = [n % 3 for n in range(60)]  # fewer users than workers: the per-user rule must hold some back
    ids = await enqueue(db, settings, *users)
    claims: list[int] = []
    running_users: set[int] = set()
    overlaps: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        queue = SqliteWorkerQueue(settings)  # its own connection, as in a separate process
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
            queue.finish(job.id, name, OUTCOME)
        queue.close()

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == ids
    assert Counter(claims).most_common(1)[0][1] == 1
    assert overlaps == []
    assert [s.state for s in await db.jobs.undelivered()] == [JobState.DONE] * len(ids)


async def test_expired_lease_requeues_then_fails_after_max_attempts(
    db: Database, settings: Settings, queue: SqliteWorkerQueue
) -> None:
    (job_id,) = await enqueue(db, settings, 1)
    first = queue.claim("dies")
    assert first is not None and first.attempt == 1
    assert queue.claim("other") is None  # the lease is still valid
    await asyncio.sleep(settings.lease_s + 0.1)
    second = queue.claim("other")
    assert second is not None and (second.id, second.attempt) == (job_id, 2)
    assert not queue.heartbeat(job_id, "dies", iteration=1, total=10)  # the first worker lost its lease
    queue.finish(job_id, "dies", OUTCOME)  # ...and its late result is ignored
    assert (await db.jobs.status(job_id)).state is JobState.RUNNING  # type: ignore[union-attr]
    await asyncio.sleep(settings.lease_s + 0.1)
    assert queue.claim("third") is None
    status = await db.jobs.status(job_id)
    assert status is not None and status.state is JobState.FAILED
    assert status.error_code == ErrorCode.WORKER_LOST and status.attempts == 2
    assert "stopped unexpectedly 2 times" in (status.error_message or "")


async def test_heartbeat_renews_the_lease_and_reports_cancel(
    db: Database, settings: Settings, queue: SqliteWorkerQueue
) -> None:
    (job_id,) = await enqueue(db, settings, 1)
    assert queue.claim("w") is not None
    for _ in range(4):  # well past one lease, kept alive by heartbeats
        await asyncio.sleep(settings.lease_s / 2)
        assert queue.heartbeat(job_id, "w", iteration=5, total=10, eta_s=3.0)
    assert queue.claim("other") is None
    status = await db.jobs.status(job_id)
    assert status is not None and (status.progress, status.eta_s) == (0.5, 3.0)
    assert await db.jobs.cancel(job_id)
    assert not queue.heartbeat(job_id, "w", iteration=6, total=10)
    queue.mark_cancelled(job_id, "w")
    assert (await db.jobs.status(job_id)).state is JobState.CANCELLED  # type: ignore[union-attr]


async def test_release_keeps_the_place_in_line_and_the_attempt(
    db: Database, settings: Settings, queue: SqliteWorkerQueue
) -> None:
    first, _ = await enqueue(db, settings, 1, 2)
    assert queue.claim("w").id == first  # type: ignore[union-attr]
    queue.release(first, "w")
    status = await db.jobs.status(first)
    assert status is not None and status.state is JobState.QUEUED and status.attempts == 0
    assert status.position == 1
    again = queue.claim("w2")
    assert again is not None and (again.id, again.attempt) == (first, 1)


async def test_retryable_failure_requeues_until_attempts_run_out(
    db: Database, settings: Settings, queue: SqliteWorkerQueue
) -> None:
    (job_id,) = await enqueue(db, settings, 1)
    for attempt in (1, 2):
        job = queue.claim("w")
        assert job is not None and job.attempt == attempt
        queue.fail(job_id, "w", ErrorCode.OUT_OF_MEMORY, "Too big right now.", retry=True)
    status = await db.jobs.status(job_id)
    assert status is not None and status.state is JobState.FAILED and status.error_code == "out_of_memory"
