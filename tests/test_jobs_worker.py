"""A worker (in a thread, with a fake engine): results, progress, cancel, time limit and failure records."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from PIL import Image

from engine.errors import OutOfMemoryError
from engine.worker import INTERNAL_MESSAGE, engine_options
from jobs.models import JobParams, JobState, JobStatus
from jobs.store import Database
from jobs.worker_store import SqliteWorkerQueue
from stylebot.config import Settings
from tests.fake_engine import FakeEngine
from tests.jobs_support import WorkerThread, make_settings, new_job, wait_for


async def wait_state(db: Database, job_id: int, *states: JobState, within: float = 10.0) -> JobStatus:
    async def reached() -> bool:
        status = await db.jobs.status(job_id)
        return status is not None and status.state in states

    await wait_for(reached, within)
    status = await db.jobs.status(job_id)
    assert status is not None
    return status


async def test_job_runs_to_a_result_with_progress_and_previews(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stylebot.worker")
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=40))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=1.2))
    try:
        running = await wait_state(db, job_id, JobState.RUNNING)
        assert running.attempts == 1

        async def previewed() -> bool:
            status = await db.jobs.status(job_id)
            return status is not None and status.preview_version > 0 and 0 < status.progress < 1

        await wait_for(previewed, within=5)
        preview = (await db.jobs.status(job_id)).preview_path  # type: ignore[union-attr]
        assert preview is not None
        with Image.open(preview) as image:
            assert image.format == "JPEG"
        done = await wait_state(db, job_id, JobState.DONE)
    finally:
        worker.stop()
    assert done.progress == 1.0 and done.error_code is None
    assert done.result_path is not None and done.result_path.suffix == ".png"
    with Image.open(done.result_path) as image:
        assert image.size == (done.result_width, done.result_height) == (32, 24)
    assert [s.id for s in await db.jobs.undelivered()] == [job_id]
    assert f"job_end job={job_id} worker=test-worker outcome=done attempt=1" in caplog.text


def test_params_map_to_engine_options() -> None:
    fast = engine_options(JobParams(iterations=300, quality="fast", strength=0.7, style_weights=(2.0, 1.0)))
    assert fast["iterations"] == 150 and fast["strength"] == 0.7 and fast["style_weights"] == [2.0, 1.0]
    best = engine_options(JobParams(iterations=300, quality="best", max_side=768, preserve_colors=True, seed=4))
    assert (best["iterations"], best["max_side"], best["preserve_colors"], best["seed"]) == (600, 768, True, 4)
    assert "style_weights" not in engine_options(JobParams())


async def test_cancel_while_running_stops_within_two_seconds(db: Database, settings: Settings) -> None:
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=200))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=30))
    try:
        await wait_state(db, job_id, JobState.RUNNING)
        asked = time.monotonic()
        assert await db.jobs.cancel(job_id)
        status = await wait_state(db, job_id, JobState.CANCELLED, within=5)
        assert time.monotonic() - asked < 2.0
    finally:
        worker.stop()
    assert status.outcome is JobState.CANCELLED and status.error_code is None


async def test_time_limit_stops_the_job_with_a_clear_message(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, job_time_limit_s=0.5)
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=200))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=30))
    try:
        status = await wait_state(db, job_id, JobState.FAILED, within=5)
    finally:
        worker.stop()
    assert status.error_code == "time_limit"
    assert status.error_message is not None and "longer than the 0.5 seconds limit" in status.error_message
    assert status.finished_at is not None and status.started_at is not None
    assert status.finished_at - status.started_at < 2.0


async def test_bad_image_is_recorded_with_a_readable_message(db: Database, settings: Settings) -> None:
    job = new_job(settings, user_id=1, message_id=1, content=b"this is not a picture")
    job_id = (await db.jobs.enqueue(job)).job_id
    worker = WorkerThread(settings, FakeEngine())
    try:
        status = await wait_state(db, job_id, JobState.FAILED)
    finally:
        worker.stop()
    assert status.error_code == "bad_image"
    assert status.error_message == "I couldn't open that picture. Please send it as a JPEG or PNG photo."


async def test_out_of_memory_is_recorded(db: Database, settings: Settings) -> None:
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1))).job_id
    worker = WorkerThread(settings, FakeEngine(error=OutOfMemoryError("Too large even at 256 px.")))
    try:
        status = await wait_state(db, job_id, JobState.FAILED)
    finally:
        worker.stop()
    assert (status.error_code, status.error_message) == ("out_of_memory", "Too large even at 256 px.")


async def test_unexpected_error_is_logged_but_never_shown(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1))).job_id
    worker = WorkerThread(settings, FakeEngine(error=KeyError("conv5_1 weights at /secret/path")))
    try:
        status = await wait_state(db, job_id, JobState.FAILED)
    finally:
        worker.stop()
    assert (status.error_code, status.error_message) == ("internal", INTERNAL_MESSAGE)
    assert "Traceback" in caplog.text and "/secret/path" in caplog.text  # for the operator
    next_job = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=2))).job_id
    assert (await db.jobs.status(next_job)).state is JobState.QUEUED  # type: ignore[union-attr]


async def test_a_long_engine_step_does_not_lose_the_lease(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lease_s=0.3)
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=1))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=1.5))  # one step, five leases long
    other = SqliteWorkerQueue(settings)
    try:
        await wait_state(db, job_id, JobState.RUNNING)
        await asyncio.sleep(1.0)
        assert other.claim("thief") is None
        status = await wait_state(db, job_id, JobState.DONE)
    finally:
        worker.stop()
        other.close()
    assert status.attempts == 1


async def test_stopping_worker_hands_back_a_long_job(db: Database, settings: Settings) -> None:
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=200))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=30))
    await wait_state(db, job_id, JobState.RUNNING)
    stopping = time.monotonic()
    worker.stop()  # the grace period (0.2 s) is far shorter than the job
    assert time.monotonic() - stopping < 3.0
    status = await db.jobs.status(job_id)
    assert status is not None and status.state is JobState.QUEUED and status.attempts == 0
    assert worker.jobs_run == 1


async def test_stopping_worker_lets_a_short_job_finish(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, shutdown_grace_s=5.0)
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=0.8))
    await wait_state(db, job_id, JobState.RUNNING)
    worker.stop()
    assert (await db.jobs.status(job_id)).state is JobState.DONE  # type: ignore[union-attr]
