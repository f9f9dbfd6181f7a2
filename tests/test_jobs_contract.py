"""The job system's promises, checked on both deployments: SQLite + a local folder, and Postgres + S3.

Each test runs twice (the `backend` fixture). On Postgres the order in which jobs are handed out is
procrastinate's own (priorities and per-user locks), so these tests check our use of it, not a copy of it.
"""

from __future__ import annotations

import asyncio

import pytest

from jobs import keys
from jobs.bot_stores import BotStores, open_bot_stores
from jobs.models import ErrorCode, JobOutcome, JobState, Preferences
from jobs.queue.worker_side import WorkerQueueBase
from jobs.storage import MissingFile
from settings import Settings
from tests.support.jobs import Dispenser, new_job
from tests.support.pictures import picture


async def finish(stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser, worker: str = "w") -> int:
    """Take the next job and finish it with a (fake) stored result."""
    job = await dispenser.take(worker)
    assert job is not None
    stores.storage.put(job.result_key, picture(fmt="PNG"))
    worker_queue.finish(job.id, worker, JobOutcome(job.result_key, 32, 24, 20, 25, 1.5, 0.1, 0.2))
    await dispenser.done(job.id)
    return job.id


async def enqueue(stores: BotStores, *users: int) -> list[int]:
    ids = []
    for n, user in enumerate(users):
        ids.append((await stores.jobs.enqueue(new_job(stores.storage, user, 1000 + n))).job_id)
    return ids


async def test_redelivered_update_never_makes_a_second_job(stores: BotStores) -> None:
    first = await stores.jobs.enqueue(new_job(stores.storage, 1, 7))
    again = await stores.jobs.enqueue(new_job(stores.storage, 1, 7))
    assert first.created and not again.created and again.job_id == first.job_id
    assert len(await stores.jobs.active()) == 1
    other_chat = await stores.jobs.enqueue(new_job(stores.storage, 1, 7, chat_id=99))
    assert other_chat.created and other_chat.job_id != first.job_id


async def test_jobs_run_oldest_first_across_users(stores: BotStores, dispenser: Dispenser) -> None:
    ids = await enqueue(stores, 3, 1, 2)
    taken = [await dispenser.take(f"w{n}") for n in range(3)]
    assert [job.id for job in taken if job] == ids
    assert await dispenser.take("w9") is None


async def test_one_running_job_per_user(stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser) -> None:
    a1, a2, b1 = await enqueue(stores, 1, 1, 2)
    first, second = await dispenser.take("w1"), await dispenser.take("w2")
    assert first is not None and second is not None
    assert (first.id, second.id) == (a1, b1)  # user 1's second job waits for their first
    assert await dispenser.take("w3") is None
    worker_queue.finish(a1, "w1", JobOutcome(first.result_key, 1, 1, 1, 1, 0.1, 0.0, 0.0))
    await dispenser.done(a1)
    third = await dispenser.take("w3")
    assert third is not None and third.id == a2


async def test_users_take_turns(stores: BotStores, dispenser: Dispenser) -> None:
    """A queues three jobs, then B one: B's job runs second, and the positions say so."""
    a1, a2, a3, b1 = await enqueue(stores, 1, 1, 1, 2)
    assert [(await stores.jobs.status(i)).position for i in (a1, b1, a2, a3)] == [1, 2, 3, 4]  # type: ignore[union-attr]
    assert [s.id for s in await stores.jobs.active()] == [a1, b1, a2, a3]
    first, second = await dispenser.take("w1"), await dispenser.take("w2")
    assert (first.id, second.id) == (a1, b1)  # type: ignore[union-attr]


async def test_positions_follow_the_queue(stores: BotStores, dispenser: Dispenser) -> None:
    ids = await enqueue(stores, 1, 2, 3)
    assert [(await stores.jobs.status(i)).position for i in ids] == [1, 2, 3]  # type: ignore[union-attr]
    await dispenser.take("w")
    statuses = {s.id: s for s in await stores.jobs.active()}
    assert statuses[ids[0]].state is JobState.RUNNING and statuses[ids[0]].position == 0
    assert [statuses[i].position for i in ids[1:]] == [1, 2]


async def test_cancel_while_queued(stores: BotStores, dispenser: Dispenser) -> None:
    (job_id,) = await enqueue(stores, 1)
    assert await stores.jobs.cancel(job_id)
    status = await stores.jobs.status(job_id)
    assert status is not None and status.state is JobState.CANCELLED
    assert await dispenser.take("w") is None  # a worker never picks it up
    assert [s.id for s in await stores.jobs.undelivered()] == [job_id]  # the chat is told it was cancelled
    assert await stores.jobs.mark_delivered(job_id)
    assert not await stores.jobs.cancel(job_id)  # already finished


async def test_cancel_while_running_reaches_the_worker(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    (job_id,) = await enqueue(stores, 1)
    assert await dispenser.take("w") is not None
    assert worker_queue.heartbeat(job_id, "w", iteration=5, total=10, eta_s=3.0)
    status = await stores.jobs.status(job_id)
    assert status is not None and (status.progress, status.eta_s) == (0.5, 3.0)
    assert await stores.jobs.cancel(job_id)
    assert not worker_queue.heartbeat(job_id, "w", iteration=6, total=10)
    worker_queue.mark_cancelled(job_id, "w")
    assert (await stores.jobs.status(job_id)).state is JobState.CANCELLED  # type: ignore[union-attr]


async def test_release_keeps_the_place_in_line_and_the_attempt(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    first, _ = await enqueue(stores, 1, 2)
    assert (await dispenser.take("w")).id == first  # type: ignore[union-attr]
    assert worker_queue.release(first, "w") is JobState.QUEUED
    status = await stores.jobs.status(first)
    assert status is not None and status.state is JobState.QUEUED and status.attempts == 0 and status.position == 1


async def test_a_lost_worker_s_job_runs_again_then_fails_after_the_last_attempt(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser, settings: Settings
) -> None:
    (job_id,) = await enqueue(stores, 1)
    for attempt in range(1, settings.max_attempts + 1):
        job = await dispenser.take(f"w{attempt}")
        assert job is not None and (job.id, job.attempt) == (job_id, attempt)
        if attempt > 1:  # the worker that lost it comes back to life: it is ignored
            assert not worker_queue.heartbeat(job_id, f"w{attempt - 1}", iteration=1, total=2)
        await dispenser.lose_worker(job_id)
    assert await dispenser.take("w-last") is None
    status = await stores.jobs.status(job_id)
    assert status is not None and status.state is JobState.FAILED and status.error_code == ErrorCode.WORKER_LOST
    assert status.attempts == settings.max_attempts
    assert [s.id for s in await stores.jobs.undelivered()] == [job_id]  # the chat is told


async def test_each_outcome_is_delivered_exactly_once_across_restarts(
    settings: Settings, stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    ids = await enqueue(stores, 1, 2)
    done = [await finish(stores, worker_queue, dispenser), await finish(stores, worker_queue, dispenser)]
    assert done == ids
    pending = await stores.jobs.undelivered()
    assert [s.id for s in pending] == ids
    assert pending[0].result_key is not None and stores.storage.get(pending[0].result_key)[:4] == b"\x89PNG"
    assert await stores.jobs.mark_delivered(ids[0])
    restarted = await open_bot_stores(settings)  # a second bot process on the same database
    try:
        assert [s.id for s in await restarted.jobs.undelivered()] == [ids[1]]
        results = await asyncio.gather(stores.jobs.mark_delivered(ids[1]), restarted.jobs.mark_delivered(ids[1]))
        assert sorted(results) == [False, True]
    finally:
        await restarted.close()
    assert await stores.jobs.undelivered() == []
    history = await stores.jobs.history(2)
    assert history[0].state is JobState.DELIVERED and history[0].outcome is JobState.DONE


async def test_forget_user_removes_rows_and_pictures(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser
) -> None:
    mine = await enqueue(stores, 1, 1)
    (theirs,) = await enqueue(stores, 2)
    await finish(stores, worker_queue, dispenser)  # user 1's first job has a result now
    await stores.preferences.update(1, quality="best")
    preset = await stores.presets.add("Mine", picture(), ".png", chat_id=1, added_by=1)
    own = (await stores.jobs.status(mine[0])).result_key  # type: ignore[union-attr]
    assert own is not None and stores.storage.exists(own)

    assert await stores.jobs.forget_user(1) == 2

    assert not stores.storage.exists(own)
    with pytest.raises(MissingFile):
        stores.storage.get(keys.result_key(1, mine[0]))
    assert [await stores.jobs.status(i) for i in mine] == [None, None]
    assert await stores.jobs.history(1) == []
    assert await stores.preferences.get(1) == Preferences()
    kept = await stores.presets.get("mine", 1)
    assert kept is not None and kept.added_by is None and stores.storage.exists(preset.image_key)
    other = await stores.jobs.status(theirs)
    assert other is not None and other.content_key is not None and stores.storage.exists(other.content_key)
    again = await stores.jobs.enqueue(new_job(stores.storage, 1, 1000))  # the request was forgotten too
    assert again.created


async def test_counts_and_stats(stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser) -> None:
    await enqueue(stores, 1, 1, 1)
    await finish(stores, worker_queue, dispenser)
    failed = await dispenser.take("w")
    assert failed is not None
    assert worker_queue.fail(failed.id, "w", ErrorCode.BAD_IMAGE, "not a picture") is JobState.FAILED
    await dispenser.done(failed.id)
    assert await stores.jobs.count_active(1) == 1
    assert await stores.jobs.count_today(1) == 3
    stats = await stores.jobs.stats()
    assert (stats.queued, stats.running, stats.jobs_today, stats.failed_today) == (1, 0, 3, 1)
    assert stats.median_seconds == 1.5


async def test_retryable_failure_requeues_until_attempts_run_out(
    stores: BotStores, worker_queue: WorkerQueueBase, dispenser: Dispenser, settings: Settings
) -> None:
    (job_id,) = await enqueue(stores, 1)
    for attempt in range(1, settings.max_attempts + 1):
        job = await dispenser.take("w")
        assert job is not None and job.attempt == attempt
        state = worker_queue.fail(job_id, "w", ErrorCode.OUT_OF_MEMORY, "too big right now", retry=True)
        await dispenser.done(job_id)
        assert state is (JobState.QUEUED if attempt < settings.max_attempts else JobState.FAILED)


async def test_live_workers_are_counted_from_any_machine(stores: BotStores, worker_queue: WorkerQueueBase) -> None:
    assert await stores.jobs.live_workers(60) == 0
    worker_queue.worker_seen("gpu-1:42")
    worker_queue.worker_seen("gpu-2:7", 3)
    assert await stores.jobs.live_workers(60) == 2
    worker_queue.worker_gone("gpu-1:42")
    assert await stores.jobs.live_workers(60) == 1


async def test_presets_are_case_insensitive_and_chat_ones_hide_global(stores: BotStores) -> None:
    image = picture(fmt="PNG")
    await stores.presets.add("Starry", image, ".png", chat_id=None, added_by=1)
    await stores.presets.add("Wave", image, ".png", chat_id=None, added_by=1)
    ours = await stores.presets.add("starry", image, ".png", chat_id=10, added_by=2)
    assert [(p.name, p.chat_id) for p in await stores.presets.list(10)] == [("starry", 10), ("Wave", None)]
    assert [(p.name, p.chat_id) for p in await stores.presets.list(11)] == [("Starry", None), ("Wave", None)]
    assert await stores.presets.get("STARRY", 10) == ours
    found = await stores.presets.get("starry", 11)
    assert found is not None and found.chat_id is None and stores.storage.get(found.image_key) == image
    replaced = await stores.presets.add("WAVE", image, ".png", chat_id=None, added_by=3)
    assert [p.name for p in await stores.presets.list(11)] == ["Starry", "WAVE"] and replaced.added_by == 3


async def test_user_settings(stores: BotStores) -> None:
    assert await stores.preferences.get(5) == Preferences()
    changed = await stores.preferences.update(5, quality="fast", strength=0.5)
    assert changed == Preferences(quality="fast", strength=0.5)
    assert await stores.preferences.update(5, max_side=256) == Preferences(quality="fast", strength=0.5, max_side=256)
    with pytest.raises(ValueError, match="unknown setting"):
        await stores.preferences.update(5, colour="red")
    with pytest.raises(ValueError, match="quality"):
        await stores.preferences.update(5, quality="perfect")


async def test_chat_state_pending_photo_and_deliveries(stores: BotStores) -> None:
    state = stores.chat_state
    stores.storage.put("users/1/uploads/a.jpg", picture())
    await state.set_pending(10, 1, "users/1/uploads/a.jpg", 55)
    pending = await state.get_pending(10, 1, max_age_s=60)
    assert pending is not None and (pending.image_key, pending.message_id) == ("users/1/uploads/a.jpg", 55)
    assert not pending.used
    await state.mark_pending_used(10, 1)
    assert (await state.get_pending(10, 1, 60)).used  # type: ignore[union-attr]
    assert await state.get_pending(10, 2, 60) is None  # another member's
    assert await state.get_pending(10, 1, max_age_s=-1) is None  # too old
    stores.storage.delete(["users/1/uploads/a.jpg"])
    assert await state.get_pending(10, 1, 60) is None  # its picture is gone
    await state.record_delivery(7, 10, 1, 501, "file-7", "caption")
    await state.record_delivery(7, 10, 1, 501, "file-7", "caption")  # recorded twice: still one
    assert [d.job_id for d in await state.recent_results(1)] == [7]
    assert (await state.delivery(7)).file_id == "file-7"  # type: ignore[union-attr]
    await state.forget_user(1)
    assert await state.recent_results(1) == [] and await state.delivery(7) is None
