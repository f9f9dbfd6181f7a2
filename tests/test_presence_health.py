"""`stylebot health`: fresh, stale and missing heartbeats; workers beat while idle and while painting."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from jobs.bot_stores import bot_stores
from jobs.models import JobState
from presence import BOT, Heartbeat, check, heartbeat_dir, worker_name
from stylebot import cli
from tests.support.fake_engine import HANG, FakeEngine
from tests.support.jobs import WorkerThread, new_job, wait_for
from tests.support.settings import make_settings

pytestmark = pytest.mark.timeout(60)


def beat(data_dir: Path, name: str, age_s: float = 0.0) -> None:
    Heartbeat(data_dir, name).beat()
    if age_s:
        then = time.time() - age_s
        os.utime(heartbeat_dir(data_dir) / name, (then, then))


def health(data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run `stylebot health ARGS`; returns 'CODE: the line it printed'."""
    monkeypatch.setenv("STYLEBOT_DATA_DIR", str(data_dir))
    code = cli.main(["health", *args])
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return f"{code}: {out.strip()}"


def test_fresh_bot_and_worker_are_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    beat(tmp_path, BOT)
    beat(tmp_path, worker_name("gpu-host:41"), age_s=120)  # an old worker that died: one fresh one is enough
    beat(tmp_path, worker_name("gpu-host:42"), age_s=5)
    assert health(tmp_path, monkeypatch, capsys).startswith("0: healthy: bot beat 0 s ago, 1 worker(s) fresh")


def test_stale_heartbeats_say_what_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    beat(tmp_path, BOT, age_s=90)
    beat(tmp_path, worker_name("gpu-host:42"), age_s=5)
    assert health(tmp_path, monkeypatch, capsys) == "1: unhealthy (max age 60 s): bot: stale, last beat 90 s ago"
    assert health(tmp_path, monkeypatch, capsys, "--max-age", "120").startswith("0: healthy")

    beat(tmp_path, BOT)
    beat(tmp_path, worker_name("gpu-host:42"), age_s=75)
    assert health(tmp_path, monkeypatch, capsys) == (
        "1: unhealthy (max age 60 s): workers: 0 of 1 needed fresh, newest beat 75 s ago"
    )
    assert health(tmp_path, monkeypatch, capsys, "--min-workers", "0").startswith("0: healthy")


def test_missing_heartbeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert health(tmp_path / "nothing-yet", monkeypatch, capsys) == (
        "1: unhealthy (max age 60 s): bot: no heartbeat; workers: no heartbeat"
    )
    beat(tmp_path, worker_name("w1"))
    assert health(tmp_path, monkeypatch, capsys) == "1: unhealthy (max age 60 s): bot: no heartbeat"


async def test_worker_beats_while_idle_and_painting_and_clears_on_exit(tmp_path: Path) -> None:
    """The worker loop beats every poll, the job's heartbeat thread during a long job; a clean exit clears it."""
    settings = make_settings(tmp_path)
    path = heartbeat_dir(settings.data_dir) / worker_name("test:worker")
    async with bot_stores(settings) as opened:
        worker = WorkerThread(settings, FakeEngine(seconds=1.5), worker_id="test:worker")
        try:

            async def beating() -> bool:
                return path.exists()

            await wait_for(beating)
            assert check(settings.data_dir)[1] == "unhealthy (max age 60 s): bot: no heartbeat"
            job_id = (await opened.jobs.enqueue(new_job(opened.storage, 1, 1))).job_id

            async def running() -> bool:
                status = await opened.jobs.status(job_id)
                return status is not None and status.state == JobState.RUNNING

            await wait_for(running)
            first = path.stat().st_mtime_ns
            await asyncio.sleep(0.4)  # inside the job now: the presence beats all the same
            assert path.stat().st_mtime_ns > first
            assert await running()
        finally:
            worker.stop()
    assert not path.exists()


def test_a_worker_machine_checks_only_its_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a GPU machine of a many-machine deployment the bot runs elsewhere: its heartbeat is not expected."""
    assert health(tmp_path, monkeypatch, capsys, "--worker-only").startswith("1: unhealthy (max age 60 s): workers")
    beat(tmp_path, worker_name("gpu-1:7"), age_s=3)
    assert health(tmp_path, monkeypatch, capsys, "--worker-only") == "0: healthy: 1 worker(s) fresh"


async def test_a_worker_stuck_in_a_job_is_reported_unhealthy(tmp_path: Path) -> None:
    """Past its time limit (plus a lease) a job's heartbeat stops: the job fails and health sees the stuck worker."""
    settings = make_settings(tmp_path, job_time_limit_s=0.5, lease_s=0.5, heartbeat_s=0.05)
    unblock = threading.Event()
    async with bot_stores(settings) as opened:
        worker = WorkerThread(settings, FakeEngine(unblock=unblock), worker_id="stuck:1")
        try:
            job_id = (await opened.jobs.enqueue(new_job(opened.storage, 1, 1, content=HANG))).job_id

            async def failed() -> bool:
                status = await opened.jobs.status(job_id)
                return status is not None and status.state == JobState.FAILED

            await wait_for(failed, within=10)
            assert (await opened.jobs.status(job_id)).error_code == "time_limit"  # type: ignore[union-attr]
            beat(settings.data_dir, BOT)
            await asyncio.sleep(1.0)
            ok, line = check(settings.data_dir, max_age_s=0.8)
            assert not ok and "workers: 0 of 1 needed fresh" in line
        finally:
            unblock.set()
            worker.stop()
