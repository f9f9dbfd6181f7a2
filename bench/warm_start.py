"""Warm starts: how long the first users wait after a worker (re)starts, with and without its warm-up.

    .venv/bin/python -m bench.warm_start --weights hed --size 512 --iterations 20

For each setting of STYLEBOT_WARM_UP, a fresh `stylebot worker` process (the real engine, TensorFlow by default)
starts with one landscape job already waiting; the script reports when the worker was ready, when that job was
done, and how long a portrait job, sent once the first is delivered, then takes (the shape the warm-up prepared
meanwhile). Each run uses a new data folder, so nothing carries over between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jobs import keys
from jobs.bot_stores import BotStores, open_bot_stores
from jobs.models import JobParams, JobState, NewJob
from settings import Settings
from tests.support.pictures import content_photo, style_painting

ROOT = Path(__file__).resolve().parents[1]


def png(image: object) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, "PNG")  # type: ignore[attr-defined]
    return out.getvalue()


async def job(stores: BotStores, n: int, size: tuple[int, int], args: argparse.Namespace) -> int:
    content, style = keys.upload_key(1, f"c{n}", ".png"), keys.upload_key(1, f"s{n}", ".png")
    stores.storage.put(content, png(content_photo(size)))
    stores.storage.put(style, png(style_painting((256, 256))))
    request = NewJob(1, 1, n, content, (style,), JobParams(max_side=args.size, iterations=args.iterations))
    return (await stores.jobs.enqueue(request)).job_id


async def done(stores: BotStores, job_id: int, within: float = 900) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status = await stores.jobs.status(job_id)
        if status is not None and status.state == JobState.DONE:
            return time.perf_counter()
        if status is not None and status.state == JobState.FAILED:
            raise SystemExit(f"job {job_id} failed: {status.error_code} {status.error_message}")
        await asyncio.sleep(0.05)
    raise SystemExit(f"job {job_id} did not finish in {within} s")


async def one_run(args: argparse.Namespace, warm_up: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="stylebot-first-job-") as tmp:
        settings = Settings(data_dir=Path(tmp), weights=args.weights, default_size=args.size, warm_up=warm_up)
        stores = await open_bot_stores(settings)
        try:
            first = await job(stores, 1, (640, 480), args)
            env = {**os.environ, **settings.to_env(), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "worker", "--log-level", "WARNING", env=env, cwd=ROOT
            )
            try:
                first_s = await done(stores, first) - started
                await asyncio.sleep(args.gap)  # a while later, someone sends a portrait photo
                second = await job(stores, 2, (480, 640), args)
                asked = time.perf_counter()
                second_s = await done(stores, second) - asked
            finally:
                proc.terminate()
                await proc.wait()
            return first_s, second_s
        finally:
            await stores.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gap", type=float, default=5.0, help="seconds between the first result and the next job")
    args = parser.parse_args()
    print("| warm-up | first job after start (s) | next job, other orientation (s) |")
    print("| --- | --- | --- |")
    results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.repeats):
        for warm_up in (False, True):  # interleaved: the machine's load drifts
            results[warm_up].append(await one_run(args, warm_up))
    for warm_up, runs in results.items():
        first = statistics.median(r[0] for r in runs)
        second = statistics.median(r[1] for r in runs)
        print(f"| {'on' if warm_up else 'off'} | {first:.1f} | {second:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
