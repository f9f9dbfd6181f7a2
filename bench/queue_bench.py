"""Queue benchmark: N jobs through the SQLite store and real worker loops with a no-op engine.

Reports enqueue rate, jobs/s end to end, claim→start latency (from a worker asking for a job until the
engine is called), and how long the bot's status()/active()/stats() reads take with 1,000 jobs queued.

    .venv/bin/python bench/queue_bench.py --jobs 500 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from engine.types import StylizeResult
from engine.worker import run_worker
from jobs import sql
from jobs.db import connect
from jobs.models import ClaimedJob, JobParams, NewJob
from jobs.store import Database, open_store
from jobs.worker_store import SqliteWorkerQueue
from stylebot.config import Settings


class TimedQueue(SqliteWorkerQueue):
    """Records when each claim was asked for, keyed by the claimed job's content path."""

    def __init__(self, settings: Settings, asked: dict[str, float]) -> None:
        super().__init__(settings)
        self.asked = asked

    def claim(self, worker_id: str) -> ClaimedJob | None:
        started = time.perf_counter()
        job = super().claim(worker_id)
        if job is not None:
            self.asked[str(job.content_path)] = started
        return job


class NoopEngine:
    """Returns a 1×1 image at once and records when it was called."""

    def __init__(self, called: dict[str, float]) -> None:
        self.called = called
        self.image = Image.new("RGB", (1, 1))

    def stylize(self, content: Any, styles: Any, **options: Any) -> StylizeResult:
        self.called[str(content)] = time.perf_counter()
        return StylizeResult(self.image, 1, 1, 0.0, 0.0, 0.0, "noop", "none", "none")


def request(n: int, users: int, folder: Path) -> NewJob:
    return NewJob(
        chat_id=n % users + 1,
        user_id=n % users + 1,
        message_id=n,
        content_path=folder / f"content-{n}.png",  # never read: the engine is a no-op
        style_paths=(folder / "style.png",),
        params=JobParams(),
    )


def wait_drained(settings: Settings) -> None:
    """Block until no job is queued or running (polls on its own connection)."""
    conn = connect(settings.db_path)
    try:
        while True:
            counts = conn.execute(sql.STATS_COUNTS, {"since": 0}).fetchone()
            if not counts["queued"] and not counts["running"]:
                return
            time.sleep(0.005)
    finally:
        conn.close()


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    """Median and worst time of `repeat` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def push_jobs(db: Database, args: argparse.Namespace, folder: Path, settings: Settings) -> None:
    started = time.perf_counter()
    for n in range(args.jobs):
        await db.jobs.enqueue(request(n, args.users, folder))
    enqueue_s = time.perf_counter() - started
    print(f"enqueue: {args.jobs} jobs in {enqueue_s:.2f} s ({args.jobs / enqueue_s:.0f} jobs/s)")

    asked: dict[str, float] = {}
    called: dict[str, float] = {}
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=run_worker,
            args=(settings,),
            kwargs={
                "worker_id": f"bench-{w}",
                "engine_factory": lambda: NoopEngine(called),
                "stop_event": stop,
                "poll_interval": 0.01,
                "queue": TimedQueue(settings, asked),
            },
        )
        for w in range(args.workers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    await asyncio.to_thread(wait_drained, settings)
    run_s = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    latencies = [(called[key] - asked[key]) * 1000 for key in called]
    print(
        f"run: {args.jobs} jobs, {args.workers} worker threads, {args.users} users: {run_s:.2f} s "
        f"({args.jobs / run_s:.0f} jobs/s)"
    )
    print(
        f"claim->start latency: median {statistics.median(latencies):.2f} ms, "
        f"p95 {percentile(latencies, 0.95):.2f} ms, max {max(latencies):.2f} ms"
    )


async def read_with_queue(db: Database, args: argparse.Namespace, folder: Path) -> None:
    ids = [(await db.jobs.enqueue(request(args.jobs + n, args.users, folder))).job_id for n in range(args.queued)]
    last = ids[-1]
    status = await db.jobs.status(last)
    assert status is not None and status.position == args.queued, status
    median, worst = await timed(lambda: db.jobs.status(last), 200)
    print(f"status() of job #{args.queued} in a queue of {args.queued}: median {median:.3f} ms, max {worst:.3f} ms")
    median, worst = await timed(lambda: db.jobs.count_active(1), 200)
    print(f"count_active(): median {median:.3f} ms, max {worst:.3f} ms")
    median, worst = await timed(db.jobs.active, 20)
    print(f"active() listing all {args.queued} with positions: median {median:.2f} ms, max {worst:.2f} ms")
    median, worst = await timed(db.jobs.stats, 20)
    print(f"stats(): median {median:.2f} ms, max {worst:.2f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=500, help="jobs pushed through the workers")
    parser.add_argument("--workers", type=int, default=2, help="worker loops (threads, each its own connection)")
    parser.add_argument("--users", type=int, default=50, help="distinct users the jobs belong to")
    parser.add_argument("--queued", type=int, default=1000, help="queue length for the read timings")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stylebot-bench-") as tmp:
        folder = Path(tmp)
        settings = Settings(data_dir=folder / "data", lease_s=30.0)
        async with open_store(settings) as db:
            await push_jobs(db, args, folder, settings)
            await read_with_queue(db, args, folder)


if __name__ == "__main__":
    asyncio.run(main())
