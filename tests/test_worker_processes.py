"""Real worker processes (`python -m worker` with a slow fake engine) on both backends: crashes, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from jobs.bot_stores import BotStores, bot_stores
from jobs.models import JobState
from settings import Settings
from tests.support.backends import SQLITE, Backend
from tests.support.fake_engine import HANG
from tests.support.jobs import new_job, wait_state
from worker.pool import PROJECT_ROOT, WorkerPool

FAKE_ENGINE = {"STYLEBOT_ENGINE_FACTORY": "tests.support.fake_engine:make_engine", "FAKE_ENGINE_SECONDS": "2.5"}


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return backend.settings(tmp_path, lease_s=1.0, heartbeat_s=0.2)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_killed_worker_is_replaced_and_its_job_finishes(stores: BotStores, settings: Settings) -> None:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=50))).job_id
    pool = WorkerPool(settings, 1, env=FAKE_ENGINE, restart_delay_s=0.1, check_interval_s=0.1)
    pool.start()
    try:
        running = await wait_state(stores.jobs, job_id, JobState.RUNNING, within=30)
        (victim,) = pool.pids
        os.kill(victim, signal.SIGKILL)
        crashed = await stores.jobs.status(job_id)
        assert crashed is not None and crashed.state is JobState.RUNNING and running.attempts == 1

        done = await wait_state(stores.jobs, job_id, JobState.DONE, within=30)
        assert done.attempts == 2
        assert done.result_key is not None and stores.storage.exists(done.result_key)
        assert pool.restarts == 1 and pool.pids and victim not in pool.pids
        survivors = pool.pids
    finally:
        pool.stop(timeout_s=10)
    assert not any(alive(pid) for pid in survivors)


async def test_job_fails_clearly_after_its_last_attempt_is_lost(
    stores: BotStores, tmp_path: Path, backend: Backend
) -> None:
    settings = backend.settings(tmp_path, lease_s=1.0, heartbeat_s=0.2, max_attempts=1)
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=50))).job_id
    pool = WorkerPool(settings, 1, env=FAKE_ENGINE, restart_delay_s=0.1, check_interval_s=0.1)
    pool.start()
    try:
        await wait_state(stores.jobs, job_id, JobState.RUNNING, within=30)
        os.kill(pool.pids[0], signal.SIGKILL)
        failed = await wait_state(stores.jobs, job_id, JobState.FAILED, within=30)
    finally:
        pool.stop(timeout_s=10)
    assert failed.error_code == "worker_lost" and failed.attempts == 1
    assert [s.id for s in await stores.jobs.undelivered()] == [job_id]


async def test_a_stuck_job_fails_for_its_time_limit_and_a_fresh_worker_takes_over(
    stores: BotStores, tmp_path: Path, backend: Backend
) -> None:
    """The engine blocks where no cancel check reaches it: the job fails (the user is told it took too long),
    the stuck process goes, and a fresh worker paints the next job."""
    settings = backend.settings(tmp_path, lease_s=1.0, heartbeat_s=0.2, job_time_limit_s=1.0)
    stuck = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, content=HANG))).job_id
    engine = {**FAKE_ENGINE, "FAKE_ENGINE_SECONDS": "0.2"}
    pool = WorkerPool(settings, 1, env=engine, restart_delay_s=0.1, check_interval_s=0.1)
    pool.start()
    try:
        (first,) = pool.pids
        failed = await wait_state(stores.jobs, stuck, JobState.FAILED, within=30)
        assert failed.error_code == "time_limit"
        after = (await stores.jobs.enqueue(new_job(stores.storage, 2, 1))).job_id
        await wait_state(stores.jobs, after, JobState.DONE, within=30)
        assert pool.restarts >= 1 and first not in pool.pids
    finally:
        pool.stop(timeout_s=10)
    assert [s.id for s in await stores.jobs.undelivered()] == [stuck, after]


async def test_sigterm_hands_the_job_back_and_exits(stores: BotStores, tmp_path: Path, backend: Backend) -> None:
    settings = backend.settings(tmp_path, lease_s=1.0, heartbeat_s=0.2, shutdown_grace_s=0.3)
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=100))).job_id
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        **settings.to_env(),
        **FAKE_ENGINE,
        "FAKE_ENGINE_SECONDS": "60",
    }
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "worker", env=env, cwd=PROJECT_ROOT)
    try:
        await wait_state(stores.jobs, job_id, JobState.RUNNING, within=30)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    status = await stores.jobs.status(job_id)
    assert status is not None and status.state is JobState.QUEUED and status.attempts == 0  # nothing lost


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url="postgresql://u@h/db",
        storage_url="s3://bucket/prefix",
        admins=frozenset({3, 1}),
        presets_dir=tmp_path / "presets",
        lease_s=2.5,
        job_time_limit_s=30.0,
        weights="hed",
    )
    assert Settings.from_env(settings.to_env()) == settings


def test_each_worker_gets_its_own_gpu_when_gpus_are_listed(tmp_path: Path) -> None:
    pool = WorkerPool(Settings(data_dir=tmp_path, gpus="0,1"), 3)
    assert [pool.slot_env(slot)["CUDA_VISIBLE_DEVICES"] for slot in range(3)] == ["0", "1", "0"]
    plain = WorkerPool(Settings(data_dir=tmp_path), 2, env={"CUDA_VISIBLE_DEVICES": "7"})
    assert plain.slot_env(1)["CUDA_VISIBLE_DEVICES"] == "7"  # left alone when no list is given


async def test_a_busy_pool_worker_is_never_taken_for_stuck(tmp_path: Path) -> None:
    """Short jobs back to back, a short lease: the worker's presence beats between and during jobs, so the pool's
    watchdog never kills it and no job fails for its time limit."""
    settings = Backend(SQLITE).settings(tmp_path, lease_s=1.5, heartbeat_s=0.5)
    count = 150
    async with bot_stores(settings) as stores:
        ids = [(await stores.jobs.enqueue(new_job(stores.storage, user, 1))).job_id for user in range(1, count + 1)]
        pool = WorkerPool(settings, 1, env={**FAKE_ENGINE, "FAKE_ENGINE_SECONDS": "0.2"}, check_interval_s=0.1)
        pool.start()
        try:
            for job_id in ids:
                await wait_state(stores.jobs, job_id, JobState.DONE, JobState.FAILED, within=60)
            restarts = pool.restarts
        finally:
            pool.stop(timeout_s=10)
        ended = [await stores.jobs.status(job_id) for job_id in ids]
    assert restarts == 0
    assert [s.error_code for s in ended if s is not None and s.state is not JobState.DONE] == []


def test_pool_workers_never_receive_the_bot_s_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLEBOT_TOKEN", "123:from-the-environment")
    settings = Settings(data_dir=tmp_path, token="123:secret", webhook_secret="hook-secret")
    dump = tmp_path / "env.json"
    script = (
        f"import json, os; open({str(dump)!r} + '.new', 'w').write(json.dumps(dict(os.environ)));"
        f" os.replace({str(dump)!r} + '.new', {str(dump)!r})"
    )
    pool = WorkerPool(settings, 1, command=[sys.executable, "-c", script])
    pool.start()
    try:
        while not dump.exists():
            time.sleep(0.05)
    finally:
        pool.stop(timeout_s=10)
    env = json.loads(dump.read_text())
    assert "STYLEBOT_TOKEN" not in env and "STYLEBOT_WEBHOOK_SECRET" not in env
    assert env["STYLEBOT_DATA_DIR"] == str(tmp_path)  # the rest of the settings still travel
