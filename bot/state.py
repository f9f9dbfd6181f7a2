"""The bot's own small SQLite file: pending photos per (chat, user) and a log of delivered results.

The job store knows nothing about Telegram messages beyond the status message; the sent photo's
file_id (for inline sharing) and the delivery log (so a restart never sends a result twice) live here.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    job_id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    message_id INTEGER,
    file_id TEXT,
    caption TEXT NOT NULL DEFAULT '',
    delivered_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_user ON deliveries (user_id, delivered_at);
"""


@dataclass(frozen=True)
class Pending:
    """A content photo waiting for its style."""

    chat_id: int
    user_id: int
    path: Path
    message_id: int
    used: bool  # a job was already made from it: a new photo replaces it instead of becoming its style
    created_at: float


@dataclass(frozen=True)
class Delivery:
    job_id: int
    chat_id: int
    user_id: int
    message_id: int | None
    file_id: str | None
    caption: str
    delivered_at: float


class BotState:
    """Async access to the bot's SQLite file (one connection, opened in post_init)."""

    def __init__(self, db: aiosqlite.Connection):
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> BotState:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.executescript(SCHEMA)
        await db.commit()
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def get_pending(self, chat_id: int, user_id: int, max_age_s: float) -> Pending | None:
        """The user's pending photo in this chat, unless it is older than max_age_s or its file is gone."""
        async with self._db.execute(
            "SELECT path, message_id, used, created_at FROM pending WHERE chat_id = ? AND user_id = ?",
            (chat_id, user_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None or time.time() - row[3] > max_age_s or not await asyncio.to_thread(Path(row[0]).is_file):
            return None
        return Pending(chat_id, user_id, Path(row[0]), row[1], bool(row[2]), row[3])

    async def set_pending(self, chat_id: int, user_id: int, path: Path, message_id: int) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO pending (chat_id, user_id, path, message_id, used, created_at)"
            " VALUES (?, ?, ?, ?, 0, ?)",
            (chat_id, user_id, str(path), message_id, time.time()),
        )
        await self._db.commit()

    async def mark_pending_used(self, chat_id: int, user_id: int) -> None:
        await self._db.execute("UPDATE pending SET used = 1 WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        await self._db.commit()

    async def clear_pending(self, chat_id: int, user_id: int) -> bool:
        cur = await self._db.execute("DELETE FROM pending WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        await self._db.commit()
        return cur.rowcount > 0

    async def delivery(self, job_id: int) -> Delivery | None:
        """The record of a job's delivered outcome, if it was sent."""
        async with self._db.execute(
            "SELECT job_id, chat_id, user_id, message_id, file_id, caption, delivered_at"
            " FROM deliveries WHERE job_id = ?",
            (job_id,),
        ) as cur:
            row = await cur.fetchone()
        return Delivery(*row) if row else None

    async def record_delivery(
        self, job_id: int, chat_id: int, user_id: int, message_id: int | None, file_id: str | None, caption: str
    ) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO deliveries"
            " (job_id, chat_id, user_id, message_id, file_id, caption, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, chat_id, user_id, message_id, file_id, caption, time.time()),
        )
        await self._db.commit()

    async def recent_results(self, user_id: int, limit: int = 20) -> list[Delivery]:
        """The user's delivered pictures (with a file_id), newest first."""
        async with self._db.execute(
            "SELECT job_id, chat_id, user_id, message_id, file_id, caption, delivered_at FROM deliveries"
            " WHERE user_id = ? AND file_id IS NOT NULL ORDER BY delivered_at DESC, job_id DESC LIMIT ?",
            (user_id, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [Delivery(*row) for row in rows]

    async def forget_user(self, user_id: int) -> list[Path]:
        """Delete the user's pending photos and results; returns the pending files to remove."""
        async with self._db.execute("SELECT path FROM pending WHERE user_id = ?", (user_id,)) as cur:
            paths = [Path(row[0]) for row in await cur.fetchall()]
        await self._db.execute("DELETE FROM pending WHERE user_id = ?", (user_id,))
        await self._db.execute("DELETE FROM deliveries WHERE user_id = ?", (user_id,))
        await self._db.commit()
        return paths
