"""Per-user settings on the SQLite file (only the changed fields are stored, as JSON)."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from jobs import sql
from jobs.db import AsyncDb
from jobs.models import UserSettings

QUALITIES = frozenset({"fast", "balanced", "best"})
FIELDS = {f.name: f for f in dataclasses.fields(UserSettings)}


def _settings(data: dict[str, Any]) -> UserSettings:
    """Stored fields over the defaults; fields this code no longer knows are ignored."""
    return UserSettings(**{k: v for k, v in data.items() if k in FIELDS})


def _checked(changes: dict[str, object]) -> dict[str, object]:
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    if "quality" in changes and changes["quality"] not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(sorted(QUALITIES))}")
    return changes


class SqliteSettingsStore:
    """`SettingsStore` on SQLite."""

    def __init__(self, db: AsyncDb) -> None:
        self._db = db

    async def get(self, user_id: int) -> UserSettings:
        """The user's settings (defaults when none were saved)."""
        row = await self._db.fetchone(sql.USER_SETTINGS, (user_id,))
        return _settings(json.loads(row["data"]) if row else {})

    async def update(self, user_id: int, **changes: object) -> UserSettings:
        """Change some fields (unknown names raise ValueError) and return the new settings."""
        changes = _checked(changes)
        now = time.time()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(sql.USER_SETTINGS, (user_id,))
            merged = {**(json.loads(row["data"]) if row else {}), **changes}
            await tx.execute(sql.UPSERT_USER, (user_id, "", now))
            await tx.execute(sql.SAVE_USER_SETTINGS, (user_id, json.dumps(merged, sort_keys=True), now))
        return _settings(merged)
