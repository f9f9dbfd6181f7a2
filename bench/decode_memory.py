"""Decode memory benchmark: the real bot, sent large PNGs at once, and its peak memory.

    .venv/bin/python -m bench.decode_memory                      # 10 users each send a 60-megapixel RGBA PNG at once
    .venv/bin/python -m bench.decode_memory --pictures 4 --megapixels 30

The bot runs in a child process of its own, as `stylebot run` does (`bot.telegram.app.build_application` + `serve`, on
SQLite and a local folder), against `tests.support.fakebotapi.FakeBotApi` in this process. Each user sends the PNG
as a file captioned `/style mosaic`; once every request has its status message (or a refusal), the child reports
its peak resident memory (`resource.getrusage`: the bot only, not the fake API or the pictures made here), how many
pictures it decoded and the most it decoded at once. Target: a peak of at most 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

TARGET_MB = 1024
READY, DONE = "ready", "done"


def png(megapixels: float) -> bytes:
    """A 3:2 RGBA PNG of about that many megapixels: gradients with a transparent corner (it compresses well, so
    it stays under Telegram's 20 MB, and decodes to 4 bytes a pixel)."""
    import io

    height = int((megapixels * 1_000_000 / 1.5) ** 0.5)
    width = int(height * 1.5)
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    pixels = np.empty((height, width, 4), np.uint8)
    pixels[..., 0] = x.astype(np.uint8)
    pixels[..., 1] = y.astype(np.uint8)
    pixels[..., 2] = 128
    pixels[..., 3] = 255
    pixels[: height // 4, : width // 4, 3] = 0
    out = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(out, "PNG", compress_level=1)
    return out.getvalue()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kilobytes


async def child() -> None:
    """The bot alone: settings from the STYLEBOT_* variables; `stop` on stdin ends it and reports."""
    from bot.telegram.app import build_application, serve
    from bot.telegram.services import services
    from settings import Settings
    from tests.support.bot import rate_limiter

    app = build_application(Settings.from_env(), rate_limiter=rate_limiter())
    async with serve(app, poll_timeout=1):
        print(READY, json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        gate: Any = getattr(services(app), "decodes", None)
        report = {
            "peak_rss_mb": peak_rss_mb(),
            "decodes": getattr(gate, "decodes", None),
            "most_at_once": getattr(gate, "peak", None),
        }
    print(DONE, json.dumps(report), flush=True)


async def run(args: argparse.Namespace) -> int:
    from tests.support.bot import bot_settings, fake_api, is_status, private
    from tests.support.fakebotapi import TgUser

    started = time.perf_counter()
    data = await asyncio.to_thread(png, args.megapixels)
    made_s = time.perf_counter() - started
    print(f"picture: {args.megapixels:g} MP RGBA PNG, {len(data) / 1e6:.1f} MB, made in {made_s:.1f} s")
    with tempfile.TemporaryDirectory(prefix="stylebot-decode-") as folder:
        async with fake_api() as api:
            settings = bot_settings(Path(folder), api, max_size=512)
            env = {**os.environ, **settings.to_env(), "STYLEBOT_LOG_LEVEL": "WARNING"}
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.decode_memory", "--child",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            )
            assert process.stdin is not None and process.stdout is not None
            ready = await _line(process.stdout, READY)
            users = [TgUser(7000 + n, f"User {n}", f"user{n}") for n in range(args.pictures)]
            started = time.perf_counter()
            for n, user in enumerate(users):
                api.user_document(
                    private(user), user, data, mime_type="image/png", file_name=f"big{n}.png", caption="/style mosaic"
                )

            await api.wait_for("sendPhoto", is_status, count=args.pictures, within_s=args.within)
            seconds = time.perf_counter() - started
            process.stdin.write(b"stop\n")
            await process.stdin.drain()
            done = await _line(process.stdout, DONE)
            await process.wait()
    peak = done["peak_rss_mb"]
    print(f"bot at start: {ready['peak_rss_mb']:.0f} MB peak RSS")
    print(
        f"{args.pictures} pictures sent at once: all queued in {seconds:.1f} s; bot peak RSS {peak:.0f} MB "
        f"(target ≤ {TARGET_MB} MB: {'met' if peak <= TARGET_MB else 'NOT met'}); "
        f"decodes {done['decodes']}, at most {done['most_at_once']} at once"
    )
    return 0 if peak <= TARGET_MB else 1


async def _line(stream: asyncio.StreamReader, tag: str) -> dict[str, Any]:
    while True:
        raw = await stream.readline()
        if not raw:
            raise RuntimeError(f"the bot process ended before saying {tag!r}")
        word, _, rest = raw.decode().strip().partition(" ")
        if word == tag:
            report: dict[str, Any] = json.loads(rest)
            return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", type=int, default=10, help="users sending one picture each, at once")
    parser.add_argument("--megapixels", type=float, default=60.0)
    parser.add_argument("--within", type=float, default=600.0, help="seconds to wait for every status message")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child())
        return
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
