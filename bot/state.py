"""The bot's chat state: pending photos per (chat, user) and a log of delivered results.

The job store knows nothing about Telegram messages beyond the status message; the sent photo's
file_id (for inline sharing) and the delivery log (so a restart never sends a result twice) live here,
in the same database (tables from migrations/0002_bot_state.sql) and on the bot's one connection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.db import AsyncDb, connect_async
from jobs.migrate import apply_migrations


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
    """Async access to the bot's tables, on the connection the job store uses."""

    def __init__(self, db: AsyncDb):
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> BotState:
        """A BotState with a connection of its own (for tests that inject other stores)."""
        await asyncio.to_thread(apply_migrations, path)
        return cls(AsyncDb(await connect_async(path)))

    async def close(self) -> None:
        await self._db.close()

    async def get_pending(self, chat_id: int, user_id: int, max_age_s: float) -> Pending | None:
        """The user's pending photo in this chat, unless it is older than max_age_s or its file is gone."""
        row = await self._db.fetchone(
            "SELECT path, message_id, used, created_at FROM pending WHERE chat_id = ? AND user_id = ?",
            (chat_id, user_id),
        )
        if row is None or time.time() - row[3] > max_age_s or not await asyncio.to_thread(Path(row[0]).is_file):
            return None
        return Pending(chat_id, user_id, Path(row[0]), row[1], bool(row[2]), row[3])

    async def set_pending(self, chat_id: int, user_id: int, path: Path, message_id: int) -> None:
        await self._db.write(
            "INSERT OR REPLACE INTO pending (chat_id, user_id, path, message_id, used, created_at)"
            " VALUES (?, ?, ?, ?, 0, ?)",
            (chat_id, user_id, str(path), message_id, time.time()),
        )

    async def mark_pending_used(self, chat_id: int, user_id: int) -> None:
        await self._db.write("UPDATE pending SET used = 1 WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))

    async def clear_pending(self, chat_id: int, user_id: int) -> bool:
        deleted = await self._db.write("DELETE FROM pending WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        return deleted > 0

    async def delivery(self, job_id: int) -> Delivery | None:
        """The record of a job's delivered outcome, if it was sent."""
        row = await self._db.fetchone(
            "SELECT job_id, chat_id, user_id, message_id, file_id, caption, delivered_at"
            " FROM deliveries WHERE job_id = ?",
            (job_id,),
        )
        return Delivery(*row) if row else None

    async def record_delivery(
        self, job_id: int, chat_id: int, user_id: int, message_id: int | None, file_id: str | None, caption: str
    ) -> None:
        await self._db.write(
            "INSERT OR REPLACE INTO deliveries"
            " (job_id, chat_id, user_id, message_id, file_id, caption, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, chat_id, user_id, message_id, file_id, caption, time.time()),
        )

    async def recent_results(self, user_id: int, limit: int = 20) -> list[Delivery]:
        """The user's delivered pictures (with a file_id), newest first."""
        rows = await self._db.fetchall(
            "SELECT job_id, chat_id, user_id, message_id, file_id, caption, delivered_at FROM deliveries"
            " WHERE user_id = ? AND file_id IS NOT NULL ORDER BY delivered_at DESC, job_id DESC LIMIT ?",
            (user_id, limit),
        )
        return [Delivery(*row) for row in rows]

    async def forget_user(self, user_id: int) -> list[Path]:
        """Delete the user's pending photos and results; returns the pending files to remove."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall("SELECT path FROM pending WHERE user_id = ?", (user_id,))
            paths = [Path(row[0]) for row in rows]
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (user_id,))
            await tx.execute("DELETE FROM deliveries WHERE user_id = ?", (user_id,))
        return paths
