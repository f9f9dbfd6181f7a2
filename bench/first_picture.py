"""Time to the first picture: the real bot against the fake Bot API, with one local worker process on the CPU.

    .venv/bin/python -m bench.first_picture                               # the real engine, offline weights
    .venv/bin/python -m bench.first_picture --engine fake --users 60      # the queue and the sketch alone

Every request is a 512 px photo captioned `/style starry` (a built-in preset). For each request it measures, from
the moment the user's message reaches the Bot API to the moment the bot sends each picture:
- the first picture (the instant sketch) and the finished painting, p50 and p95, with the worker idle (requests
  one after another, each waiting for its painting);
- the same in a burst of `--users` users asking at once; and whether every user of the burst had their first
  picture before their painting started (the job's start in the database).
Targets (issue "A first picture within two seconds"): p95 to the first picture ≤ 2 s when idle; every user of the
burst sees a first picture before their painting starts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bench.stats import percentile
from jobs.bot_stores import bot_stores
from settings import Settings
from tests.support.bot import fake_api, is_result, private, running_bot, workers
from tests.support.fakebotapi import FakeBotApi, TgUser

FIRST_USER = 50_000
SKETCH_CAPTION = "quick sketch"


def photo(seed: int, side: int) -> bytes:
    """A photo-like 4:3 picture (smooth gradients and a few shapes), different for each user."""
    width, height = side, side * 3 // 4
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    shade = Image.new("RGB", (width, height), ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    image = Image.blend(image, shade, 0.5)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def is_sketch(call: Any) -> bool:
    return call.method == "sendPhoto" and call.status == 200 and SKETCH_CAPTION in (call.caption or "")


def summary(name: str, values: list[float]) -> dict[str, Any]:
    return {
        "what": name,
        "n": len(values),
        "p50_s": round(statistics.median(values), 2),
        "p95_s": round(percentile(values, 0.95), 2),
    }


async def ask(api: FakeBotApi, user_id: int, side: int) -> tuple[int, float]:
    """One user's request; (chat id, when it reached the Bot API)."""
    user = TgUser(user_id, f"User{user_id}", f"user{user_id}")
    chat = private(user)
    api.user_photo(chat, user, photo(user_id, side), caption="/style starry")
    return chat.id, time.monotonic()


async def wait_pictures(api: FakeBotApi, chats: dict[int, float], within_s: float) -> tuple[dict[int, float], ...]:
    """When each chat got its sketch and its painting (monotonic)."""
    deadline = time.monotonic() + within_s
    while True:
        sketches = {c.chat_id: c.at for c in api.calls if is_sketch(c) and c.chat_id in chats}
        results = {c.chat_id: c.at for c in api.calls if is_result(c) and c.chat_id in chats}
        if len(results) == len(chats) or time.monotonic() > deadline:
            return sketches, results
        await asyncio.sleep(0.05)


async def started_at(settings: Settings, users: list[int]) -> dict[int, float]:
    """When each user's (latest) job started painting (wall clock), from the database, by chat."""
    async with bot_stores(settings) as stores:
        jobs = [job for user in users for job in await stores.jobs.history(user, 1)]
    return {job.chat_id: job.started_at for job in jobs if job.started_at is not None}


async def measure(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with fake_api() as api:
        settings = Settings(
            token=api.token, api_url=api.api_url, file_url=api.file_url, data_dir=folder / "data",
            weights=args.weights, default_size=args.size, default_iterations=args.iterations,
        )
        factory = "tests.support.fake_engine:make_engine" if args.engine == "fake" else None
        with workers(settings, seconds=args.fake_seconds, engine_factory=factory):
            async with running_bot(settings):
                # Idle: one request at a time, each waiting for its painting (the first also warms the worker up).
                idle_first, idle_done = [], []
                for n in range(args.idle + 1):
                    chat, sent = await ask(api, FIRST_USER + n, args.size)
                    sketches, results = await wait_pictures(api, {chat: sent}, args.timeout)
                    if n == 0:
                        continue
                    if chat in sketches:
                        idle_first.append(sketches[chat] - sent)
                    if chat in results:
                        idle_done.append(results[chat] - sent)
                rows += [summary("idle: to the first picture", idle_first),
                         summary("idle: to the finished painting", idle_done)]
                # A burst: many users at once.
                base = FIRST_USER + 1000
                offset = time.time() - time.monotonic()
                burst = dict([await ask(api, base + n, args.size) for n in range(args.users)])
                sketches, results = await wait_pictures(api, burst, args.timeout)
        starts = await started_at(settings, list(burst))  # a private chat's id is its user's
    first = [sketches[c] - sent for c, sent in burst.items() if c in sketches]
    done = [results[c] - sent for c, sent in burst.items() if c in results]
    before = [c for c in burst if c in sketches and c in starts and sketches[c] + offset <= starts[c]]
    rows += [
        summary(f"burst of {args.users}: to the first picture", first),
        summary(f"burst of {args.users}: to the finished painting", done),
        {"what": f"burst of {args.users}: first picture before the painting started", "users": len(burst),
         "yes": len(before), "sketches": len(sketches), "paintings": len(results)},
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_picture", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("real", "fake"), default="real", help="the worker's engine")
    parser.add_argument("--weights", default="hed", help="the real engine's weights (default hed: offline)")
    parser.add_argument("--size", type=int, default=512, help="the photos' and paintings' longest side")
    parser.add_argument("--iterations", type=int, default=200, help="the painting's iterations")
    parser.add_argument("--fake-seconds", type=float, default=2.0, help="--engine fake: seconds per painting")
    parser.add_argument("--idle", type=int, default=10, help="requests timed one at a time")
    parser.add_argument("--users", type=int, default=60, help="users in the burst")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the paintings")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stylebot-first-picture-") as tmp:
        rows = asyncio.run(measure(args, Path(tmp)))
    for row in rows:
        print(json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
