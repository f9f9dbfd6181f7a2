"""Builders for the job tests: requests with their pictures stored, waiting for a state, a worker in a thread."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from procrastinate import App
from procrastinate.jobs import Status
from procrastinate.utils import utcnow

from jobs import keys, sql
from jobs.bot_stores import BotStores
from jobs.interface import BotQueue
from jobs.models import ClaimedJob, JobParams, JobState, JobStatus, NewJob
from jobs.queue.postgres import PAINT_QUEUE, PostgresWorkerQueue, ProcrastinateDispatch, recover_stalled
from jobs.queue.sqlite import SqliteWorkerQueue
from jobs.queue.worker_side import WorkerQueueBase
from jobs.storage import Storage
from settings import Settings
from tests.support.pictures import picture
from tests.support.settings import TEST_ITERATIONS, TEST_SIZE
from worker.main import run_worker


def new_job(
    storage: Storage,
    user_id: int,
    message_id: int,
    *,
    chat_id: int | None = None,
    content: bytes | None = None,
    iterations: int = TEST_ITERATIONS,
    max_side: int = TEST_SIZE,
    **params: Any,
) -> NewJob:
    """A request as the bot would hand it over: its two pictures already in the storage."""
    content_key = keys.upload_key(user_id, uuid.uuid4().hex, ".png")
    style_key = keys.upload_key(user_id, uuid.uuid4().hex, ".png")
    storage.put(content_key, content if content is not None else picture((200, 80, 40), (32, 24), "PNG"))
    storage.put(style_key, picture((20, 40, 220), (32, 24), "PNG"))
    return NewJob(
        chat_id=chat_id if chat_id is not None else user_id,
        user_id=user_id,
        message_id=message_id,
        content_key=content_key,
        style_keys=(style_key,),
        params=JobParams(max_side=max_side, iterations=iterations, **params),
        user_name=f"user{user_id}",
    )


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = 10.0, interval: float = 0.02) -> None:
    """Poll until `check` is true; fail the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


async def wait_state(queue: BotQueue, job_id: int, *states: JobState, within: float = 10.0) -> JobStatus:
    """The job's status once it reaches one of `states`."""

    async def reached() -> bool:
        status = await queue.status(job_id)
        return status is not None and status.state in states

    try:
        await wait_for(reached, within, interval=0.03)
    except AssertionError:
        raise AssertionError(f"job {job_id} is {await queue.status(job_id)}, not in {states}") from None
    status = await queue.status(job_id)
    assert status is not None
    return status


class WorkerThread:
    """`run_worker` in a thread (with the given engine), stopped and joined by `stop()`."""

    def __init__(self, settings: Settings, engine: Any, worker_id: str = "test-worker", **kwargs: Any) -> None:
        self.stop_event = threading.Event()
        self.jobs_run: int | None = None
        self.error: BaseException | None = None

        def target() -> None:
            try:
                self.jobs_run = run_worker(
                    settings,
                    worker_id=worker_id,
                    engine_factory=lambda: engine,
                    stop_event=self.stop_event,
                    poll_interval=0.02,
                    **kwargs,
                )
            except BaseException as exc:
                self.error = exc
                raise

        self.thread = threading.Thread(target=target, name=worker_id, daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not stop"
        assert self.error is None, self.error


def queue_app(stores: BotStores) -> App | None:
    """procrastinate's app on Postgres (None on SQLite, whose `jobs` table is the queue)."""
    return stores.dispatch.app if isinstance(stores.dispatch, ProcrastinateDispatch) else None


class Dispenser:
    """Hands out the next job the way the backend's workers get one, and settles it afterwards.

    SQLite: `SqliteWorkerQueue.claim`. Postgres: procrastinate's own fetch (its priorities and per-user locks
    decide the order), then `start`; `done()` also finishes procrastinate's job, releasing the user's lock.
    """

    def __init__(self, stores: BotStores, worker_queue: WorkerQueueBase) -> None:
        self.stores = stores
        self.worker_queue = worker_queue
        self._queue_ids: dict[int, int] = {}
        self._registered: int | None = None

    async def take(self, worker_id: str = "w") -> ClaimedJob | None:
        app = queue_app(self.stores)
        if app is None:
            assert isinstance(self.worker_queue, SqliteWorkerQueue)
            return await asyncio.to_thread(self.worker_queue.claim, worker_id)
        if self._registered is None:
            self._registered = await app.job_manager.register_worker()
        queue_job = await app.job_manager.fetch_job(queues=[PAINT_QUEUE], worker_id=self._registered)
        if queue_job is None:
            return None
        assert queue_job.id is not None
        job_id = int(str(queue_job.task_kwargs["job_id"]))
        self._queue_ids[job_id] = queue_job.id
        return await asyncio.to_thread(self.worker_queue.start, job_id, worker_id)

    async def done(self, job_id: int) -> None:
        """The worker is through with the job: procrastinate retries it if its row is waiting again (the paint
        task's retry), else forgets it, releasing the user's lock."""
        app = queue_app(self.stores)
        queue_job_id = self._queue_ids.pop(job_id, None)
        if app is None or queue_job_id is None:
            return
        row = await asyncio.to_thread(self.worker_queue.db.fetchone, sql.JOB_STATE, {"id": job_id})
        if row is not None and row["state"] == JobState.QUEUED:
            await app.job_manager.retry_job_by_id_async(queue_job_id, retry_at=utcnow())
        else:
            await app.job_manager.finish_job_by_id_async(queue_job_id, status=Status.SUCCEEDED, delete_job=True)

    async def lose_worker(self, job_id: int) -> None:
        """The worker running the job dies: its lease (SQLite) or procrastinate heartbeat (Postgres) goes stale,
        and the recovery the real workers run takes it from there."""
        app = queue_app(self.stores)
        if app is None:  # the next claim expires the lease and re-queues (or fails) the job
            await asyncio.to_thread(self.worker_queue.db.execute, EXPIRE_NOW, {"id": job_id})
            return
        await asyncio.to_thread(self.worker_queue.db.execute, EXPIRE_NOW, {"id": job_id})
        await asyncio.to_thread(self.worker_queue.db.execute, STALE_HEARTBEATS)
        assert isinstance(self.worker_queue, PostgresWorkerQueue)
        await recover_stalled(app, self.worker_queue, stalled_after_s=60)
        self._queue_ids.pop(job_id, None)


EXPIRE_NOW = "UPDATE jobs SET lease_expires_at = 0 WHERE id = :id"
STALE_HEARTBEATS = "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
