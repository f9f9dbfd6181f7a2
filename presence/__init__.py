"""Presence: how a live worker is told from a dead or a stuck one. The one model; every reader uses it.

A worker is *present* while its presence thread (`worker.presence.Presence`) beats. Every `beat_interval_s` it
touches the worker's heartbeat file (`<data dir>/heartbeats/worker-<id>`, here) and records the worker in the
database's `workers` table. It beats whether the worker is idle or painting, and however short its jobs are, so
a busy worker is never taken for a stuck one. It stops only when the process ends, or when the worker finds its
engine stuck past a job's time limit (`Presence.hung`): then the silence is the signal.

Who reads it, each with the threshold its purpose needs:
- the pool's watchdog (`worker.pool`): a local worker silent for longer than `stuck_after_s(lease_s)` is stuck;
  it is killed and its job fails as `time_limit`;
- `stylebot health` (Docker's HEALTHCHECK): the bot's and the workers' files, fresh within `max_age_s`
  (default STALE_AFTER_S);
- the bot's "no painter is running" notice: the `workers` table (workers on any machine), fresh within
  STALE_AFTER_S.
The files are local, so the watchdog and the health check keep working through a database outage.

Which job a worker holds is ownership, not presence, and each queue backend tells it its own way:
- SQLite (`jobs.queue.sqlite`): a lease on the job's row, renewed by the running job's progress beat; the next
  claim re-queues a job whose lease ran out.
- Postgres (`jobs.queue.postgres`): procrastinate's own worker heartbeat; any worker's `recover_stalled` pass
  re-queues the jobs of a worker that stalled.

This package is a leaf: it imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)

HEARTBEAT_DIR = "heartbeats"
BOT = "bot"
WORKER_PREFIX = "worker-"
STALE_AFTER_S = 60.0  # a worker (or the bot) silent this long is not running
STUCK_MARGIN_S = 2.0  # beyond a lease of silence, before a live worker is taken for stuck


def beat_interval_s(lease_s: float, heartbeat_s: float) -> float:
    """How often a worker says it is alive (and renews its job's lease): STYLEBOT_HEARTBEAT_SECONDS, and at least
    three times a lease, so one late beat is never taken for silence."""
    return max(0.05, min(heartbeat_s, lease_s / 3))


def stuck_after_s(lease_s: float) -> float:
    """How long a local worker may be silent before the pool's watchdog takes it for stuck."""
    return lease_s + STUCK_MARGIN_S


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


def check(
    data_dir: Path, max_age_s: float = STALE_AFTER_S, min_workers: int = 1, *, bot_here: bool = True
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
