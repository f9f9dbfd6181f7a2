"""Retention on both backends: old delivered jobs and their pictures go; nothing still needed does."""

from __future__ import annotations

import asyncio
import time

from jobs import keys
from jobs.bot_stores import BotStores
from jobs.models import JobOutcome, JobState
from jobs.queue.worker_side import WorkerQueueBase
from jobs.retention import prune
from tests.support.jobs import Dispenser, new_job
from tests.support.pictures import picture


async def delivered_job(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser, user: int, n: int
) -> int:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, user, n))).job_id
    job = await dispenser.take(f"w{n}")
    assert job is not None and job.id == job_id
    stores.storage.put(job.preview_key, picture())
    stores.storage.put(job.result_key, picture(fmt="PNG"))
    worker_queue.finish(job_id, f"w{n}", JobOutcome(job.result_key, 64, 48, 1, 1, 0.1, 0.0, 0.0))
    await dispenser.done(job_id)
    await stores.chat_state.record_delivery(job_id, user, user, 500 + n, f"file-{n}", "caption")
    assert await stores.jobs.mark_delivered(job_id)
    return job_id


def stored(stores: BotStores, prefix: str) -> set[str]:
    return {item.key for item in stores.storage.objects(prefix)}


async def test_prune_everything_finished_keeps_what_is_still_needed(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    old = [await delivered_job(stores, worker_queue, dispenser, 1, n) for n in (1, 2, 3)]
    failed = (await stores.jobs.enqueue(new_job(stores.storage, 3, 9))).job_id
    job = await dispenser.take("wf")
    assert job is not None and job.id == failed
    worker_queue.fail(failed, "wf", "internal")  # type: ignore[arg-type]
    await dispenser.done(failed)  # not yet told to its chat: it stays
    waiting = (await stores.jobs.enqueue(new_job(stores.storage, 2, 9))).job_id  # still owed a painting
    first = await stores.presets.add("Mine", picture(), ".png", chat_id=5, added_by=1)
    second = await stores.presets.add("Mine", picture((1, 2, 3)), ".png", chat_id=5, added_by=1)  # replaces it
    assert stored(stores, "users/1/")  # uploads, previews and results of user 1's jobs

    report = await prune(stores.database, stores.storage, older_than_s=0, now=time.time() + 7200)

    assert report.requests == 3 and report.pictures > 0
    assert [await stores.jobs.status(i) for i in old] == [None, None, None]
    assert await stores.jobs.history(1) == [] and await stores.chat_state.recent_results(1) == []
    assert stored(stores, "users/1/") == set()
    assert (await stores.jobs.status(waiting)).state is JobState.QUEUED  # type: ignore[union-attr]
    kept = await stores.jobs.status(waiting)
    assert kept is not None and kept.content_key is not None and stores.storage.exists(kept.content_key)
    assert [s.id for s in await stores.jobs.undelivered()] == [failed]
    assert stores.storage.exists(second.image_key) and not stores.storage.exists(first.image_key)
    assert await stores.jobs.count_today(1) == 3, "the daily quota outlives the pictures"


async def test_prune_by_age_keeps_recent_jobs(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    recent = await delivered_job(stores, worker_queue, dispenser, 1, 1)
    report = await prune(stores.database, stores.storage, older_than_s=30 * 24 * 3600)
    assert (report.requests, report.pictures) == (0, 0)
    status = await stores.jobs.status(recent)
    assert status is not None and stores.storage.exists(keys.result_key(1, recent))


async def test_forget_keeps_the_daily_count(stores: BotStores) -> None:
    for n in range(3):
        await stores.jobs.enqueue(new_job(stores.storage, 1, n))
    await stores.jobs.forget_user(1)
    assert await stores.jobs.history(1) == []
    assert await stores.jobs.count_today(1) == 3


async def test_forget_stops_running_jobs_before_deleting_so_no_late_write_survives(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    """A worker painting for the user when they /forget: it is cancelled, and what it writes while stopping (its
    result, its time-lapse) is deleted with the rest, not left behind."""
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    queued = (await stores.jobs.enqueue(new_job(stores.storage, 1, 2))).job_id
    job = await dispenser.take("w")
    assert job is not None and job.id == job_id

    async def worker() -> None:  # paints until told to stop (or its job is gone), then writes on its way out
        for _ in range(1000):  # a worker beats until told to stop
            if not await asyncio.to_thread(worker_queue.heartbeat, job_id, "w", iteration=1, total=10):
                break
            await asyncio.sleep(0.02)
        stores.storage.put(job.result_key, picture(fmt="PNG"))
        stores.storage.put(keys.timelapse_key(1, job_id), b"GIF89a")
        worker_queue.mark_cancelled(job_id, "w")

    painting = asyncio.create_task(worker())
    assert await stores.jobs.forget_user(1) == 2
    await painting
    assert stored(stores, "users/1/") == set()
    assert await stores.jobs.status(job_id) is None and await stores.jobs.status(queued) is None


async def test_prune_clears_names_and_deletes_pictures_of_jobs_and_users_that_are_gone(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    kept = await delivered_job(stores, worker_queue, dispenser, 1, 1)
    await delivered_job(stores, worker_queue, dispenser, 2, 2)
    stores.storage.put(keys.result_key(1, 999), b"late write of a deleted job")
    stores.storage.put(keys.result_key(77, 5), b"left by a /forget whose deletion failed")
    later = time.time() + 2 * 3600  # past the grace for pictures being written right now
    await prune(stores.database, stores.storage, older_than_s=30 * 24 * 3600, now=later)
    assert not stores.storage.exists(keys.result_key(1, 999)) and not stores.storage.exists(keys.result_key(77, 5))
    assert stores.storage.exists(keys.result_key(1, kept)), "a kept job's picture stays"
    assert await stores.database.scalar("SELECT name FROM users WHERE id = 1") == "user1", "named while kept"
    await stores.database.execute("DELETE FROM requests WHERE user_id = 2")  # user 2's request is gone
    await prune(stores.database, stores.storage, older_than_s=30 * 24 * 3600, now=later)
    assert await stores.database.scalar("SELECT name FROM users WHERE id = 2") == "", "no name kept without a row"
