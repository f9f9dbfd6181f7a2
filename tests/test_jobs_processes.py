"""Real worker processes (`python -m engine.worker` with a slow fake engine): crashes, restarts, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from jobs.models import JobState, JobStatus
from jobs.pool import PROJECT_ROOT, WorkerPool, worker_env
from jobs.store import Database
from stylebot.config import Settings
from tests.jobs_support import make_settings, new_job, wait_for

FAKE_ENGINE = {"STYLEBOT_ENGINE_FACTORY": "tests.fake_engine:make_engine", "FAKE_ENGINE_SECONDS": "2.5"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, lease_s=1.0, heartbeat_s=0.2)


async def wait_state(db: Database, job_id: int, state: JobState, within: float = 20.0) -> JobStatus:
    async def reached() -> bool:
        status = await db.jobs.status(job_id)
        return status is not None and status.state is state

    await wait_for(reached, within, interval=0.05)
    status = await db.jobs.status(job_id)
    assert status is not None
    return status


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_killed_worker_is_replaced_and_its_job_finishes(db: Database, settings: Settings) -> None:
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=50))).job_id
    pool = WorkerPool(settings, 1, env=FAKE_ENGINE, restart_delay_s=0.1, check_interval_s=0.1)
    pool.start()
    try:
        running = await wait_state(db, job_id, JobState.RUNNING)
        (victim,) = pool.pids
        os.kill(victim, signal.SIGKILL)
        crashed = await db.jobs.status(job_id)
        assert crashed is not None and crashed.state is JobState.RUNNING and running.attempts == 1

        done = await wait_state(db, job_id, JobState.DONE)
        assert done.attempts == 2
        assert done.result_path is not None and done.result_path.is_file()
        assert pool.restarts == 1 and pool.pids and victim not in pool.pids
        survivors = pool.pids
    finally:
        pool.stop(timeout_s=10)
    assert not any(alive(pid) for pid in survivors)


async def test_job_fails_clearly_after_its_last_attempt_is_lost(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lease_s=1.0, heartbeat_s=0.2, max_attempts=1)
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=50))).job_id
    pool = WorkerPool(settings, 1, env=FAKE_ENGINE, restart_delay_s=0.1, check_interval_s=0.1)
    pool.start()
    try:
        await wait_state(db, job_id, JobState.RUNNING)
        os.kill(pool.pids[0], signal.SIGKILL)
        failed = await wait_state(db, job_id, JobState.FAILED)
    finally:
        pool.stop(timeout_s=10)
    assert failed.error_code == "worker_lost"
    assert failed.error_message is not None and "stopped unexpectedly 1 time." in failed.error_message
    assert [s.id for s in await db.jobs.undelivered()] == [job_id]


async def test_sigterm_hands_the_job_back_and_exits(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lease_s=1.0, heartbeat_s=0.2, shutdown_grace_s=0.3)
    job_id = (await db.jobs.enqueue(new_job(settings, user_id=1, message_id=1, iterations=100))).job_id
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        **worker_env(settings),
        **FAKE_ENGINE,
        "FAKE_ENGINE_SECONDS": "60",
    }
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "engine.worker", env=env, cwd=PROJECT_ROOT)
    try:
        await wait_state(db, job_id, JobState.RUNNING)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 5) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    status = await db.jobs.status(job_id)
    assert status is not None and status.state is JobState.QUEUED and status.attempts == 0  # nothing lost


def test_worker_env_round_trips_through_settings(settings: Settings) -> None:
    again = Settings.from_env(worker_env(settings))
    fields = (
        "data_dir",
        "weights",
        "job_time_limit_s",
        "max_attempts",
        "lease_s",
        "heartbeat_s",
        "preview_interval_s",
        "shutdown_grace_s",
    )
    assert [getattr(again, f) for f in fields] == [getattr(settings, f) for f in fields]


def test_each_worker_gets_its_own_gpu_when_gpus_are_listed(settings: Settings) -> None:
    pool = WorkerPool(settings, 3, env={"STYLEBOT_GPUS": "0,1"})
    assert [pool.slot_env(slot)["CUDA_VISIBLE_DEVICES"] for slot in range(3)] == ["0", "1", "0"]
    plain = WorkerPool(settings, 2, env={"STYLEBOT_GPUS": "", "CUDA_VISIBLE_DEVICES": "7"})
    assert plain.slot_env(1)["CUDA_VISIBLE_DEVICES"] == "7"  # left alone when no list is given
