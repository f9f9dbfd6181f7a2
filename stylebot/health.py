"""Heartbeats and `stylebot health`: the bot and each worker touch a file; fresh files mean a live service."""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import time
from pathlib import Path

from stylebot.config import Settings

log = logging.getLogger(__name__)

HEARTBEAT_DIR = "heartbeats"
BOT = "bot"
WORKER_PREFIX = "worker-"
DEFAULT_MAX_AGE_S = 60.0


def heartbeat_dir(data_dir: Path) -> Path:
    return data_dir / HEARTBEAT_DIR


def worker_name(worker_id: str) -> str:
    """The heartbeat file name of a worker (its id made safe for a file name)."""
    return WORKER_PREFIX + re.sub(r"[^A-Za-z0-9_.-]", "_", worker_id)


class Heartbeat:
    """One process's heartbeat file: `beat()` sets its time to now, `remove()` on a clean exit."""

    def __init__(self, data_dir: Path, name: str) -> None:
        self.path = heartbeat_dir(data_dir) / name

    def beat(self) -> bool:
        """Touch the file (False, and a debug line, when the disk refuses: the check then sees it stale)."""
        try:
            try:
                self.path.touch()
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.touch()
        except OSError as exc:
            log.debug("heartbeat %s not written: %s", self.path, exc)
            return False
        return True

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def ages(data_dir: Path, now: float | None = None) -> dict[str, float]:
    """Seconds since each heartbeat file was touched, by name."""
    now = time.time() if now is None else now
    result: dict[str, float] = {}
    try:
        entries = list(heartbeat_dir(data_dir).iterdir())
    except OSError:
        return result
    for path in entries:
        try:
            result[path.name] = max(0.0, now - path.stat().st_mtime)
        except OSError:
            continue  # removed while we looked
    return result


def heartbeat_age(data_dir: Path, name: str) -> float | None:
    """Seconds since the named heartbeat file was touched; None when there is none."""
    try:
        return max(0.0, time.time() - (heartbeat_dir(data_dir) / name).stat().st_mtime)
    except OSError:
        return None


def fresh_workers(data_dir: Path, max_age_s: float = DEFAULT_MAX_AGE_S) -> int:
    """How many workers have beaten within max_age_s."""
    return sum(1 for name, age in ages(data_dir).items() if name.startswith(WORKER_PREFIX) and age <= max_age_s)


def check(
    data_dir: Path, max_age_s: float = DEFAULT_MAX_AGE_S, min_workers: int = 1, *, bot_here: bool = True
) -> tuple[bool, str]:
    """Healthy when the bot's heartbeat (if it runs here) and at least `min_workers` workers' are fresher than
    max_age_s."""
    beats = ages(data_dir)
    problems: list[str] = []
    bot = beats.get(BOT)
    if bot_here and bot is None:
        problems.append("bot: no heartbeat")
    elif bot_here and bot is not None and bot > max_age_s:
        problems.append(f"bot: stale, last beat {bot:.0f} s ago")
    workers = {name: age for name, age in beats.items() if name.startswith(WORKER_PREFIX)}
    fresh = [name for name, age in workers.items() if age <= max_age_s]
    if len(fresh) < min_workers:
        if not workers:
            problems.append("workers: no heartbeat")
        else:
            problems.append(
                f"workers: {len(fresh)} of {min_workers} needed fresh, newest beat {min(workers.values()):.0f} s ago"
            )
    if problems:
        return False, f"unhealthy (max age {max_age_s:g} s): " + "; ".join(problems)
    bot_line = f"bot beat {bot:.0f} s ago, " if bot_here and bot is not None else ""
    return True, f"healthy: {bot_line}{len(fresh)} worker(s) fresh"


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """`stylebot health`: exit 0 when the bot and a worker beat recently, else print what is stale and exit 1."""
    parser = argparse.ArgumentParser(prog="stylebot health", description=main.__doc__)
    parser.add_argument(
        "--max-age", type=float, default=DEFAULT_MAX_AGE_S, help="seconds a heartbeat stays fresh (default 60)"
    )
    parser.add_argument(
        "--min-workers", type=int, default=1, help="fresh worker heartbeats needed (default 1; 0: the bot only)"
    )
    parser.add_argument(
        "--worker-only", action="store_true", help="a worker machine: check only its workers' heartbeats"
    )
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    ok, line = check(settings.data_dir, args.max_age, args.min_workers, bot_here=not args.worker_only)
    print(line)
    return 0 if ok else 1
