"""Named style images, global and per chat, on the SQLite file (the image files live under files_dir)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from jobs import files, sql
from jobs.db import AsyncDb
from jobs.models import Preset
from stylebot.config import Settings


def _preset(row: sqlite3.Row) -> Preset:
    return Preset(name=row["name"], path=Path(row["path"]), chat_id=row["chat_id"], added_by=row["added_by"])


class SqlitePresetStore:
    """`PresetStore` on SQLite; names are matched case-insensitively."""

    def __init__(self, db: AsyncDb, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    async def list(self, chat_id: int) -> list[Preset]:
        """Global presets and this chat's, by name; a chat's own preset hides a global one of that name."""
        return [_preset(row) for row in await self._db.fetchall(sql.CHAT_PRESETS, {"chat": chat_id})]

    async def get(self, name: str, chat_id: int) -> Preset | None:
        """The chat's preset of that name, else the global one."""
        row = await self._db.fetchone(sql.FIND_PRESET, {"key": name.strip().lower(), "chat": chat_id})
        return _preset(row) if row else None

    async def add(self, name: str, image_path: Path, *, chat_id: int | None, added_by: int | None) -> Preset:
        """Copy the image under files_dir and save (or replace) the preset; chat_id None makes it global."""
        name = name.strip()
        key = name.lower()
        if not key:
            raise ValueError("a preset needs a name")
        target = files.preset_file(self._settings.files_dir, chat_id, key, image_path.suffix.lower())
        await asyncio.to_thread(files.copy_file, image_path, target)
        # A replaced preset's old file is kept: queued jobs may still name it as their style.
        await self._db.write(sql.UPSERT_PRESET, (name, key, chat_id, str(target), added_by, time.time()))
        return Preset(name=name, path=target, chat_id=chat_id, added_by=added_by)
