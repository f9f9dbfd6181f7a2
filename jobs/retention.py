"""Retention: pictures and rows older than STYLEBOT_RETENTION_DAYS are deleted, so storage stays bounded.

What goes: delivered jobs older than the cutoff (with their requests and delivery records), photos waiting for a
style longer than that, and every stored picture under `users/` older than the cutoff that no remaining row
names (uploads, previews, results), plus preset pictures no preset or waiting job names any more (a replaced
preset's old picture). What stays: anything a queued or running job, a waiting photo or a preset still needs,
and any outcome the chat has not been told yet. The bot runs `prune` every few hours; `stylebot prune` runs it
on demand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass

from jobs import sql
from jobs.database import Database
from jobs.storage import Storage, StoredObject
from settings import Settings

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0
QUOTA_WINDOW_S = 2 * DAY_S  # job_log and upload_log rows older than this no longer count towards any quota
PRESET_GRACE_S = 3600.0  # a preset picture nobody names yet may be one being saved right now
ORPHAN_GRACE_S = 3600.0  # a user's upload may be stored a moment before the row that names its user
PREFIXES = ("users/", "presets/")


@dataclass(frozen=True)
class PruneReport:
    requests: int
    waiting_photos: int
    pictures: int

    def __str__(self) -> str:
        return (
            f"deleted {self.requests} old request(s), {self.waiting_photos} waiting photo(s), "
            f"{self.pictures} picture(s)"
        )


async def prune(db: Database, storage: Storage, older_than_s: float, *, now: float | None = None) -> PruneReport:
    """Delete what is older than `older_than_s` and nothing still needed (see the module docstring)."""
    now = time.time() if now is None else now
    cutoff = now - older_than_s
    async with db.transaction() as tx:
        requests = await tx.execute(sql.DELETE_OLD_REQUESTS, {"cutoff": cutoff})
        await tx.execute(sql.DELETE_ORPHAN_DELIVERIES)
        waiting = await tx.execute(sql.DELETE_OLD_PENDING, {"cutoff": cutoff})
        await tx.execute(sql.DELETE_OLD_JOB_LOG, {"cutoff": now - QUOTA_WINDOW_S})
        await tx.execute(sql.PRUNE_USER_NAMES)
        await tx.execute(sql.DELETE_OLD_UPLOAD_LOG, {"cutoff": now - QUOTA_WINDOW_S})
    in_use = await _keys_in_use(db)
    owners = Owners(
        {str(row["id"]) for row in await db.fetchall(sql.USER_IDS)},
        {str(row["id"]) for row in await db.fetchall(sql.JOB_IDS)},
    )
    pictures = await asyncio.to_thread(_sweep, storage, in_use, owners, cutoff, now)
    report = PruneReport(requests, waiting, pictures)
    log.info("prune older_than_s=%.0f: %s", older_than_s, report)
    return report


async def _keys_in_use(db: Database) -> set[str]:
    keys: set[str] = set()
    for row in await db.fetchall(sql.JOB_KEYS):
        keys.update(json.loads(row["style_keys"]))
        keys.update(k for k in (row["content_key"], row["preview_key"], row["result_key"]) if k)
    keys.update(row["image_key"] for row in await db.fetchall(sql.PENDING_KEYS))
    keys.update(row["image_key"] for row in await db.fetchall(sql.PRESET_KEYS))
    return keys


@dataclass(frozen=True)
class Owners:
    """The user ids (users and waiting photos) and job ids that exist: a user's picture whose user or job is gone
    (after /forget, or written by a job's worker after it was deleted) goes at the next sweep, whatever its age."""

    users: set[str]
    jobs: set[str]

    def orphan(self, key: str) -> bool:
        parts = key.split("/")  # users/<user>/uploads/<file> or users/<user>/jobs/<job>/<file>
        if parts[0] != "users" or len(parts) < 3:
            return False
        return parts[1] not in self.users or (parts[2] == "jobs" and len(parts) > 4 and parts[3] not in self.jobs)


def _sweep(storage: Storage, in_use: set[str], owners: Owners, cutoff: float, now: float) -> int:
    def older(prefix: str, item: StoredObject) -> float:
        if prefix == "presets/":
            return min(cutoff, now - PRESET_GRACE_S)
        return max(cutoff, now - ORPHAN_GRACE_S) if owners.orphan(item.key) else cutoff

    doomed = [
        item.key
        for prefix in PREFIXES
        for item in storage.objects(prefix)
        if item.key not in in_use and item.modified_at < older(prefix, item)
    ]
    storage.delete(doomed)
    return len(doomed)


async def prune_forever(db: Database, storage: Storage, settings: Settings, stop: asyncio.Event) -> None:
    """The bot's periodic sweep (every STYLEBOT_PRUNE_HOURS), until `stop` is set."""
    while not stop.is_set():
        try:
            await prune(db, storage, settings.retention_days * DAY_S)
        except Exception:
            log.exception("the retention sweep failed; it will run again")
        try:
            await asyncio.wait_for(stop.wait(), settings.prune_interval_s)
        except TimeoutError:
            pass


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """`stylebot prune`: delete what is older than the retention now (or --older-than DAYS) and say what."""
    settings = settings or Settings.from_env()
    parser = argparse.ArgumentParser(prog="stylebot prune", description=main.__doc__)
    parser.add_argument(
        "--older-than", type=float, default=settings.retention_days, metavar="DAYS",
        help=f"default: STYLEBOT_RETENTION_DAYS ({settings.retention_days:g}); 0 deletes everything finished",
    )
    args = parser.parse_args(argv)
    if args.older_than < 0:
        parser.error("--older-than must be 0 or more days")
    print(asyncio.run(_prune_once(settings, args.older_than * DAY_S)))
    return 0


async def _prune_once(settings: Settings, older_than_s: float) -> PruneReport:
    from jobs.bot_stores import open_bot_stores

    stores = await open_bot_stores(settings)
    try:
        return await prune(stores.database, stores.storage, older_than_s)
    finally:
        await stores.close()


if __name__ == "__main__":
    sys.exit(main())
