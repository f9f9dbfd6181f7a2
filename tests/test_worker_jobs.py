"""A worker (in a thread, with a fake engine), on both backends: results, progress, cancel, time limit, failures,
one job per user at a time, and stopping."""

from __future__ import annotations

import errno
import io
import logging
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.exc import OperationalError

from engine.errors import OutOfMemoryError
from jobs import keys
from jobs.bot_stores import BotStores
from jobs.models import JobOutcome, JobParams, JobState
from jobs.queue.worker_side import WorkerQueueBase
from jobs.storage import Storage
from settings import Settings
from tests.support.backends import Backend
from tests.support.fake_engine import FakeEngine
from tests.support.jobs import WorkerThread, new_job, wait_for, wait_state
from worker.engine_adapter import stylize_options


async def test_job_runs_to_a_result_with_progress_and_previews(
    stores: BotStores, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stylebot.worker")
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=40))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=1.5))
    try:
        running = await wait_state(stores.jobs, job_id, JobState.RUNNING)
        assert running.attempts == 1

        async def previewed() -> bool:
            status = await stores.jobs.status(job_id)
            return status is not None and status.preview_version > 0 and 0 < status.progress < 1

        await wait_for(previewed, within=5)
        preview_key = (await stores.jobs.status(job_id)).preview_key  # type: ignore[union-attr]
        assert preview_key is not None
        with Image.open(io.BytesIO(stores.storage.get(preview_key))) as image:
            assert image.format == "JPEG"
        done = await wait_state(stores.jobs, job_id, JobState.DONE)
    finally:
        worker.stop()
    assert done.progress == 1.0 and done.error_code is None
    assert done.result_key is not None and done.result_key.endswith(".png")
    with Image.open(io.BytesIO(stores.storage.get(done.result_key))) as image:
        assert image.size == (done.result_width, done.result_height) == (32, 24)
    with Image.open(io.BytesIO(stores.storage.get(keys.timelapse_key(1, job_id)))) as animation:
        assert animation.format == "GIF" and getattr(animation, "n_frames", 1) >= 3  # the progress, then the result
    assert not stores.storage.exists(preview_key) and done.preview_key is None  # a preview only lives with its job
    assert [s.id for s in await stores.jobs.undelivered()] == [job_id]
    assert f"job_end job={job_id} worker=test-worker outcome=done attempt=1" in caplog.text


def test_params_map_to_engine_options() -> None:
    fast = stylize_options(JobParams(512, 300, quality="fast", strength=0.7, style_weights=(2.0, 1.0)))
    assert (fast.iterations, fast.strength, fast.style_weights) == (150, 0.7, (2.0, 1.0))
    best = stylize_options(JobParams(768, 300, quality="best", preserve_colors=True, seed=4))
    assert (best.iterations, best.max_side, best.preserve_colors, best.seed) == (600, 768, True, 4)
    assert stylize_options(JobParams(512, 200)).style_weights is None


async def test_jobs_run_in_order_one_per_user_across_workers(stores: BotStores, settings: Settings) -> None:
    """Two workers, four jobs (user 1 has two): all finish, and user 1's never overlap."""
    ids = [(await stores.jobs.enqueue(new_job(stores.storage, user, n))).job_id for n, user in enumerate((1, 1, 2, 3))]
    workers = [WorkerThread(settings, FakeEngine(seconds=0.4), worker_id=f"w{n}") for n in range(2)]
    try:
        done = [await wait_state(stores.jobs, job_id, JobState.DONE, within=20) for job_id in ids]
    finally:
        for worker in workers:
            worker.stop()
    first, second = done[0], done[1]
    assert first.finished_at is not None and second.started_at is not None
    assert second.started_at >= first.finished_at  # user 1's second job waited for their first


async def test_cancel_while_running_stops_within_two_seconds(stores: BotStores, settings: Settings) -> None:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=200))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=30))
    try:
        await wait_state(stores.jobs, job_id, JobState.RUNNING)
        asked = time.monotonic()
        assert await stores.jobs.cancel(job_id)
        status = await wait_state(stores.jobs, job_id, JobState.CANCELLED, within=5)
        assert time.monotonic() - asked < 2.0
    finally:
        worker.stop()
    assert status.outcome is JobState.CANCELLED and status.error_code is None


async def test_time_limit_stops_the_job(stores: BotStores, tmp_path: Path, backend: Backend) -> None:
    settings = backend.settings(tmp_path, job_time_limit_s=0.5)
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=200))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=30))
    try:
        status = await wait_state(stores.jobs, job_id, JobState.FAILED, within=5)
    finally:
        worker.stop()
    assert status.error_code == "time_limit"
    assert status.finished_at is not None and status.started_at is not None
    assert status.finished_at - status.started_at < 2.0


async def test_bad_image_is_recorded_by_its_code(stores: BotStores, settings: Settings) -> None:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, content=b"this is not a picture"))).job_id
    worker = WorkerThread(settings, FakeEngine())
    try:
        status = await wait_state(stores.jobs, job_id, JobState.FAILED)
    finally:
        worker.stop()
    assert status.error_code == "bad_image"
    assert status.error_message is not None and "not an image" in status.error_message


async def test_a_picture_gone_from_the_storage_fails_the_job_clearly(stores: BotStores, settings: Settings) -> None:
    job = new_job(stores.storage, 1, 1)
    stores.storage.delete([job.content_key])
    job_id = (await stores.jobs.enqueue(job)).job_id
    worker = WorkerThread(settings, FakeEngine())
    try:
        status = await wait_state(stores.jobs, job_id, JobState.FAILED)
    finally:
        worker.stop()
    assert status.error_code == "bad_image" and "gone" in (status.error_message or "")


async def test_out_of_memory_is_recorded(stores: BotStores, settings: Settings) -> None:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    worker = WorkerThread(settings, FakeEngine(error=OutOfMemoryError("Too large even at 256 px.")))
    try:
        status = await wait_state(stores.jobs, job_id, JobState.FAILED)
    finally:
        worker.stop()
    assert (status.error_code, status.error_message) == ("out_of_memory", "Too large even at 256 px.")


async def test_unexpected_error_is_logged_and_the_worker_goes_on(
    stores: BotStores, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = FakeEngine(error=KeyError("conv5_1 weights at /secret/path"))
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    worker = WorkerThread(settings, engine)
    try:
        status = await wait_state(stores.jobs, job_id, JobState.FAILED)
        assert status.error_code == "internal"
        assert "Traceback" in caplog.text and "/secret/path" in caplog.text  # for the operator
        engine.error = None
        next_job = (await stores.jobs.enqueue(new_job(stores.storage, 1, 2))).job_id
        await wait_state(stores.jobs, next_job, JobState.DONE)
    finally:
        worker.stop()


async def test_stopping_worker_hands_back_a_long_job(stores: BotStores, settings: Settings) -> None:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=200))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=30))
    await wait_state(stores.jobs, job_id, JobState.RUNNING)
    stopping = time.monotonic()
    worker.stop()  # the grace period (0.2 s) is far shorter than the job
    assert time.monotonic() - stopping < 5.0
    status = await stores.jobs.status(job_id)
    assert status is not None and status.state is JobState.QUEUED and status.attempts == 0
    again = WorkerThread(settings, FakeEngine(seconds=0.1), worker_id="next-worker")  # and it runs again later
    try:
        done = await wait_state(stores.jobs, job_id, JobState.DONE)
    finally:
        again.stop()
    assert done.attempts == 1


async def test_stopping_worker_lets_a_short_job_finish(stores: BotStores, tmp_path: Path, backend: Backend) -> None:
    settings = backend.settings(tmp_path, shutdown_grace_s=5.0)
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=0.8))
    await wait_state(stores.jobs, job_id, JobState.RUNNING)
    worker.stop()
    assert (await stores.jobs.status(job_id)).state is JobState.DONE  # type: ignore[union-attr]


async def test_a_worker_says_it_is_alive(stores: BotStores, settings: Settings) -> None:
    worker = WorkerThread(settings, FakeEngine(), worker_id="gpu-7")

    async def seen() -> bool:
        return await stores.jobs.live_workers(60) == 1

    try:
        await wait_for(seen, within=10)
    finally:
        worker.stop()
    assert await stores.jobs.live_workers(60) == 0  # it signed off


async def test_a_full_disk_delays_the_job_instead_of_failing_it(
    stores: BotStores, tmp_path: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result can't be written (ENOSPC): the job waits in line and runs again; the worker carries on."""
    settings = backend.settings(tmp_path, storage_retry_s=0.5)
    full = {"left": 2}  # the disk is full for the first two results
    storage_class = type(stores.storage)
    real_put = storage_class.put

    def put(self: Storage, key: str, data: bytes) -> None:
        if key.endswith("result.png") and full["left"] > 0:
            full["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        real_put(self, key, data)

    monkeypatch.setattr(storage_class, "put", put)
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=0.1))
    try:
        delayed = await wait_state(stores.jobs, job_id, JobState.QUEUED, within=10)
        while delayed.error_code is None:  # queued before its first run, then queued again after it
            delayed = await wait_state(stores.jobs, job_id, JobState.QUEUED, within=10)
        assert delayed.error_code == "storage_full" and delayed.not_before is not None
        assert delayed.attempts == 0 and delayed.position == 1  # its place and its attempts are kept
        done = await wait_state(stores.jobs, job_id, JobState.DONE, within=20)
        other = (await stores.jobs.enqueue(new_job(stores.storage, 2, 1))).job_id
        await wait_state(stores.jobs, other, JobState.DONE, within=10)  # the worker never stopped
    finally:
        worker.stop()
    assert done.error_code is None and done.attempts == 1 and full["left"] == 0


async def test_users_take_turns_through_a_worker(stores: BotStores, settings: Settings) -> None:
    """A queues three jobs, then B one: with one worker, B's job is painted second, not fourth."""
    for seed, user in ((1, 1), (2, 1), (3, 1), (4, 2)):
        await stores.jobs.enqueue(new_job(stores.storage, user, seed, seed=seed))
    engine = FakeEngine()
    worker = WorkerThread(settings, engine)
    try:

        async def all_done() -> bool:
            return len(await stores.jobs.undelivered()) == 4

        await wait_for(all_done, within=20)
    finally:
        worker.stop()
    assert [options.seed for options in engine.calls] == [1, 4, 2, 3]


async def test_a_database_that_refuses_writes_for_a_while_is_waited_out(
    stores: BotStores, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Recording a finished job fails twice (the database is full or away): the worker logs, retries, carries on."""
    refusals = {"left": 2}
    real_finish = WorkerQueueBase.finish

    def finish(self: WorkerQueueBase, job_id: int, worker_id: str, outcome: JobOutcome) -> None:
        if refusals["left"] > 0:
            refusals["left"] -= 1
            raise OperationalError("UPDATE jobs …", {}, Exception("database or disk is full"))
        real_finish(self, job_id, worker_id, outcome)

    monkeypatch.setattr(WorkerQueueBase, "finish", finish)
    first = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=0.1))
    try:
        await wait_state(stores.jobs, first, JobState.DONE, within=20)
        second = (await stores.jobs.enqueue(new_job(stores.storage, 2, 1))).job_id
        await wait_state(stores.jobs, second, JobState.DONE, within=20)
    finally:
        worker.stop()
    assert refusals["left"] == 0 and "recording its end failed; retrying" in caplog.text


async def test_a_storage_that_cannot_be_read_delays_the_job_instead_of_losing_it(
    stores: BotStores, tmp_path: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's pictures can't be read (the store is unreachable): the job waits in line and runs again."""
    settings = backend.settings(tmp_path, storage_retry_s=0.5)
    unreachable = {"left": 2}
    storage_class = type(stores.storage)
    real_get = storage_class.get

    def get(self: Storage, key: str) -> bytes:
        if unreachable["left"] > 0:
            unreachable["left"] -= 1
            raise ConnectionError("the store does not answer")
        return real_get(self, key)

    monkeypatch.setattr(storage_class, "get", get)
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    worker = WorkerThread(settings, FakeEngine(seconds=0.1))
    try:
        delayed = await wait_state(stores.jobs, job_id, JobState.QUEUED, within=10)
        while delayed.error_code is None:  # queued before its first run, then queued again after it
            delayed = await wait_state(stores.jobs, job_id, JobState.QUEUED, JobState.FAILED, within=10)
        assert delayed.state is JobState.QUEUED and delayed.error_code == "storage_unavailable"
        assert delayed.not_before is not None and delayed.attempts == 0
        done = await wait_state(stores.jobs, job_id, JobState.DONE, within=20)
    finally:
        worker.stop()
    assert done.error_code is None and done.attempts == 1 and unreachable["left"] == 0
