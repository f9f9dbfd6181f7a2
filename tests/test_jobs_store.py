"""The bot's side of the store: requests, positions, cancel, delivery, forgetting a user, presets, settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jobs import files
from jobs.models import ErrorCode, JobOutcome, JobState, UserSettings
from jobs.store import Database, open_store
from jobs.worker_store import SqliteWorkerQueue
from stylebot.config import Settings
from tests.jobs_support import image_bytes, new_job


def finish(queue: SqliteWorkerQueue, worker: str = "w") -> int:
    """Claim the next job and finish it with a (fake) result."""
    job = queue.claim(worker)
    assert job is not None
    job.work_dir.mkdir(parents=True, exist_ok=True)
    result = files.write_bytes(job.work_dir / files.RESULT_NAME, image_bytes())
    queue.finish(job.id, worker, JobOutcome(result, 32, 24, 20, 25, 1.5, 0.1, 0.2))
    return job.id


async def test_redelivered_update_never_makes_a_second_job(db: Database, settings: Settings) -> None:
    first = await db.jobs.enqueue(new_job(settings, user_id=1, message_id=7))
    again = await db.jobs.enqueue(new_job(settings, user_id=1, message_id=7))
    assert first.created and not again.created
    assert again.job_id == first.job_id
    assert len(await db.jobs.active()) == 1
    other_chat = await db.jobs.enqueue(new_job(settings, user_id=1, message_id=7, chat_id=99))
    assert other_chat.created and other_chat.job_id != first.job_id


async def test_positions_follow_the_queue(db: Database, settings: Settings, queue: SqliteWorkerQueue) -> None:
    ids = [(await db.jobs.enqueue(new_job(settings, user_id=u, message_id=1))).job_id for u in (1, 2, 3)]
    assert [(await db.jobs.status(i)).position for i in ids] == [1, 2, 3]  # type: ignore[union-attr]
    queue.claim("w")
    statuses = {s.id: s for s in await db.jobs.active()}
    assert statuses[ids[0]].state is JobState.RUNNING and statuses[ids[0]].position == 0
    assert [statuses[i].position for i in ids[1:]] == [1, 2]
    assert [(await db.jobs.status(i)).position for i in ids[1:]] == [1, 2]  # type: ignore[union-attr]


async def test_cancel_while_queued(db: Database, settings: Settings, queue: SqliteWorkerQueue) -> None:
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1))).job_id
    assert await db.jobs.cancel(job_id)
    status = await db.jobs.status(job_id)
    assert status is not None and status.state is JobState.CANCELLED
    assert queue.claim("w") is None  # a worker never picks it up
    assert [s.id for s in await db.jobs.undelivered()] == [job_id]  # the chat is told it was cancelled
    assert await db.jobs.mark_delivered(job_id)
    assert not await db.jobs.cancel(job_id)  # already finished


async def test_each_result_is_delivered_exactly_once_across_restarts(settings: Settings) -> None:
    async with open_store(settings) as db:
        ids = [(await db.jobs.enqueue(new_job(settings, user_id=u, message_id=1))).job_id for u in (1, 2)]
        queue = SqliteWorkerQueue(settings)
        done = [finish(queue), finish(queue)]
        queue.close()
        assert done == ids
        pending = await db.jobs.undelivered()
        assert [s.id for s in pending] == ids
        assert pending[0].result_path is not None and pending[0].result_path.exists()
        assert await db.jobs.mark_delivered(ids[0])  # delivered one, then the bot "crashed"
    async with open_store(settings) as db:  # restart
        assert [s.id for s in await db.jobs.undelivered()] == [ids[1]]
        other = Database(settings)
        await other.open()
        try:  # two deliverers racing: exactly one wins
            results = await asyncio.gather(db.jobs.mark_delivered(ids[1]), other.jobs.mark_delivered(ids[1]))
        finally:
            await other.close()
        assert sorted(results) == [False, True]
        assert await db.jobs.undelivered() == []
        history = await db.jobs.history(2)
        assert history[0].state is JobState.DELIVERED and history[0].outcome is JobState.DONE


async def test_forget_user_removes_rows_and_files(db: Database, settings: Settings, queue: SqliteWorkerQueue) -> None:
    mine = [await db.jobs.enqueue(new_job(settings, user_id=1, message_id=m)) for m in (1, 2)]
    theirs = await db.jobs.enqueue(new_job(settings, user_id=2, message_id=1))
    finish(queue)  # user 1's first job has a result file now
    await db.settings.update(1, quality="best")
    preset_image = files.save_upload(settings.files_dir, 1, image_bytes(), ".png")
    preset = await db.presets.add("Mine", preset_image, chat_id=1, added_by=1)
    user_files = files.user_dir(settings.files_dir, 1)
    assert any(p.is_file() for p in user_files.rglob("*"))

    assert await db.jobs.forget_user(1) == 2

    assert not user_files.exists()
    assert [await db.jobs.status(r.job_id) for r in mine] == [None, None]
    assert await db.jobs.history(1) == []
    assert await db.settings.get(1) == UserSettings()
    kept = await db.presets.get("mine", 1)
    assert kept is not None and kept.added_by is None and kept.path == preset.path and preset.path.exists()
    other = await db.jobs.status(theirs.job_id)
    assert other is not None and other.content_path is not None and other.content_path.exists()
    again = await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1))  # the request was forgotten too
    assert again.created


async def test_counts_and_stats(db: Database, settings: Settings, queue: SqliteWorkerQueue) -> None:
    for m in (1, 2, 3):
        await db.jobs.enqueue(new_job(settings, user_id=1, message_id=m))
    finish(queue)
    failed = queue.claim("w")
    assert failed is not None
    queue.fail(failed.id, "w", ErrorCode.BAD_IMAGE, "That is not a picture.")
    assert await db.jobs.count_active(1) == 1
    assert await db.jobs.count_today(1) == 3
    stats = await db.jobs.stats()
    assert (stats.queued, stats.running, stats.jobs_today, stats.failed_today) == (1, 0, 3, 1)
    assert stats.median_seconds == 1.5


async def test_presets_are_case_insensitive_and_chat_ones_hide_global(db: Database, tmp_path: Path) -> None:
    image = tmp_path / "style.png"
    image.write_bytes(image_bytes())
    await db.presets.add("Starry", image, chat_id=None, added_by=1)
    await db.presets.add("Wave", image, chat_id=None, added_by=1)
    ours = await db.presets.add("starry", image, chat_id=10, added_by=2)
    assert [(p.name, p.chat_id) for p in await db.presets.list(10)] == [("starry", 10), ("Wave", None)]
    assert [(p.name, p.chat_id) for p in await db.presets.list(11)] == [("Starry", None), ("Wave", None)]
    assert await db.presets.get("STARRY", 10) == ours
    found = await db.presets.get("starry", 11)
    assert found is not None and found.chat_id is None and found.path.read_bytes() == image.read_bytes()
    replaced = await db.presets.add("WAVE", image, chat_id=None, added_by=3)
    assert [p.name for p in await db.presets.list(11)] == ["Starry", "WAVE"] and replaced.added_by == 3


async def test_user_settings(db: Database) -> None:
    assert await db.settings.get(5) == UserSettings()
    changed = await db.settings.update(5, quality="fast", strength=0.5)
    assert changed == UserSettings(quality="fast", strength=0.5)
    assert await db.settings.update(5, max_side=256) == UserSettings(quality="fast", strength=0.5, max_side=256)
    with pytest.raises(ValueError, match="unknown setting"):
        await db.settings.update(5, colour="red")
    with pytest.raises(ValueError, match="quality"):
        await db.settings.update(5, quality="perfect")
