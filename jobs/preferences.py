"""Per-user settings (only the fields a user changed are stored, as JSON, so new fields need no migration)."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from jobs import sql
from jobs.database import Database
from jobs.models import QUALITIES, Preferences

FIELDS = {f.name: f for f in dataclasses.fields(Preferences)}


def _settings(data: dict[str, Any]) -> Preferences:
    """Stored fields over the defaults; fields this code no longer knows are ignored."""
    return Preferences(**{k: v for k, v in data.items() if k in FIELDS})


def _checked(changes: dict[str, object]) -> dict[str, object]:
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    if "quality" in changes and changes["quality"] not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(QUALITIES)}")
    return changes


class SqlPreferencesStore:
    """`PreferencesStore` (a user's /settings choices) on either database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> Preferences:
        """The user's settings (defaults when none were saved)."""
        row = await self._db.fetchone(sql.USER_PREFERENCES, {"user": user_id})
        return _settings(json.loads(row["data"]) if row else {})

    async def update(self, user_id: int, **changes: object) -> Preferences:
        """Change some fields (unknown names raise ValueError) and return the new settings."""
        changes = _checked(changes)
        now = time.time()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(sql.USER_PREFERENCES, {"user": user_id})
            merged = {**(json.loads(row["data"]) if row else {}), **changes}
            await tx.execute(sql.UPSERT_USER, {"user": user_id, "name": "", "now": now})
            await tx.execute(
                sql.SAVE_USER_PREFERENCES, {"user": user_id, "data": json.dumps(merged, sort_keys=True), "now": now}
            )
        return _settings(merged)
