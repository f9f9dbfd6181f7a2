"""Named style images, global and per chat (rows in the database, pictures in the storage)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from sqlalchemy import RowMapping

from jobs import keys, sql
from jobs.database import Database
from jobs.models import LimitKind, LimitReached, Preset
from jobs.storage import Storage


def _preset(row: RowMapping) -> Preset:
    return Preset(name=row["name"], image_key=row["image_key"], chat_id=row["chat_id"], added_by=row["added_by"])


class SqlPresetStore:
    """`PresetStore` on either database; names are matched case-insensitively."""

    def __init__(self, db: Database, storage: Storage) -> None:
        self._db = db
        self._storage = storage

    async def list(self, chat_id: int) -> list[Preset]:
        """Global presets and this chat's, by name; a chat's own preset hides a global one of that name."""
        return [_preset(row) for row in await self._db.fetchall(sql.CHAT_PRESETS, {"chat": chat_id})]

    async def get(self, name: str, chat_id: int) -> Preset | None:
        """The chat's preset of that name, else the global one."""
        row = await self._db.fetchone(sql.FIND_PRESET, {"key": name.strip().lower(), "chat": chat_id})
        return _preset(row) if row else None

    async def add(
        self,
        name: str,
        data: bytes,
        suffix: str,
        *,
        chat_id: int | None,
        added_by: int | None,
        max_per_chat: int | None = None,
    ) -> Preset:
        """Store the picture and save (or replace) the preset; chat_id None makes it global.

        The chat's presets are counted (LimitReached past `max_per_chat`, for a new name) and the one replaced is
        read under a lock in the transaction that saves it, so saves sent at once never exceed the limit and each
        replaced picture is deleted once the replacing transaction has committed (unless a waiting job still
        names it). A save that is refused or fails leaves no picture behind."""
        name = name.strip()
        key = name.lower()
        if not key:
            raise ValueError("a preset needs a name")
        image_key = keys.preset_key(chat_id, key, suffix.lower())
        await asyncio.to_thread(self._storage.put, image_key, data)
        try:
            async with self._db.transaction() as tx:
                await tx.lock(f"stylebot:presets:{chat_id if chat_id is not None else 'global'}")
                scope = {"scope": chat_id if chat_id is not None else 0, "key": key}
                replaced: str | None = await tx.scalar(sql.PRESET_IMAGE_KEY, scope)
                if replaced is None and chat_id is not None and max_per_chat is not None:
                    count = int(await tx.scalar(sql.COUNT_CHAT_PRESETS, {"chat": chat_id}) or 0)
                    if count >= max_per_chat:
                        raise LimitReached(LimitKind.PRESETS, count, max_per_chat)
                await tx.execute(
                    sql.UPSERT_PRESET,
                    {
                        "name": name,
                        "key": key,
                        "chat": chat_id,
                        "image_key": image_key,
                        "added_by": added_by,
                        "now": time.time(),
                    },
                )
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._storage.delete, [image_key]))
            raise
        if replaced is not None and replaced != image_key:
            await self._drop_pictures([replaced])
        return Preset(name=name, image_key=image_key, chat_id=chat_id, added_by=added_by)

    async def count(self, chat_id: int) -> int:
        """How many presets this chat saved for itself."""
        return int(await self._db.scalar(sql.COUNT_CHAT_PRESETS, {"chat": chat_id}) or 0)

    async def delete(self, name: str, chat_id: int) -> bool:
        """Delete this chat's preset of that name (and its picture); False when it has none."""
        rows = await self._db.fetchall_writing(sql.DELETE_PRESET, {"chat": chat_id, "key": name.strip().lower()})
        await self._drop_pictures([row["image_key"] for row in rows])
        return bool(rows)

    async def delete_chat(self, chat_id: int) -> int:
        """Delete every preset this chat saved (a user's private chat, on /forget); returns how many."""
        rows = await self._db.fetchall_writing(sql.DELETE_CHAT_PRESETS, {"chat": chat_id})
        await self._drop_pictures([row["image_key"] for row in rows])
        return len(rows)

    async def _drop_pictures(self, image_keys: Sequence[str]) -> None:
        """Delete preset pictures no waiting job names as its style (those the retention sweep takes later)."""
        unused = [
            key for key in image_keys if not await self._db.scalar(sql.PRESET_KEY_IN_USE, {"pattern": f'%"{key}"%'})
        ]
        await asyncio.to_thread(self._storage.delete, unused)
