"""The bot's chat state: a photo waiting for its style per (chat, user), and a log of delivered outcomes."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import RowMapping

from jobs import sql
from jobs.bot_queue import DAY_S
from jobs.database import Database
from jobs.models import DeliveryRecord, LimitKind, LimitReached, PendingPhoto
from jobs.storage import Storage


def _delivery(row: RowMapping) -> DeliveryRecord:
    return DeliveryRecord(**{name: row[name] for name in DeliveryRecord.__dataclass_fields__})


class SqlChatStateStore:
    """Pending photos and the delivery log, in the same database as the jobs."""

    def __init__(self, db: Database, storage: Storage) -> None:
        self._db = db
        self._storage = storage

    async def get_pending(self, chat_id: int, user_id: int, max_age_s: float) -> PendingPhoto | None:
        """The user's pending photo in this chat, unless it is older than max_age_s or its picture is gone."""
        row = await self._db.fetchone(sql.PENDING, {"chat": chat_id, "user": user_id})
        if row is None or time.time() - row["created_at"] > max_age_s:
            return None
        if not await asyncio.to_thread(self._storage.exists, row["image_key"]):
            return None
        return PendingPhoto(
            chat_id, user_id, row["image_key"], int(row["message_id"]), bool(row["used"]), row["created_at"]
        )

    async def set_pending(self, chat_id: int, user_id: int, image_key: str, message_id: int) -> None:
        """Make this the user's waiting photo in the chat. The one it replaces is deleted at once, unless a job, a
        waiting photo or a preset still names it (a photo sent again and again doesn't pile up until retention)."""
        async with self._db.transaction() as tx:
            replaced: str | None = await tx.scalar(sql.PENDING_KEY, {"chat": chat_id, "user": user_id})
            await tx.execute(
                sql.SET_PENDING,
                {"chat": chat_id, "user": user_id, "image_key": image_key, "message": message_id, "now": time.time()},
            )
            unused = (
                replaced is not None
                and replaced != image_key
                and not await tx.scalar(
                    sql.UPLOAD_KEY_IN_USE, {"user": user_id, "key": replaced, "pattern": f'%"{replaced}"%'}
                )
            )
        if unused and replaced is not None:
            await asyncio.to_thread(self._storage.delete, [replaced])

    async def uploaded_today(self, user_id: int) -> int:
        """Bytes of pictures stored for the user in the last 24 hours (kept through /forget)."""
        return int(await self._db.scalar(sql.UPLOADED_SINCE, {"user": user_id, "since": time.time() - DAY_S}) or 0)

    async def record_upload(self, user_id: int, size: int, *, max_bytes: int | None = None) -> None:
        """Count a picture of `size` bytes about to be stored for the user. With `max_bytes`, the last day's bytes
        are summed under a lock in the same transaction: LimitReached (nothing recorded) when this one would go
        past it, so uploads sent at once can't add up to more."""
        now = time.time()
        async with self._db.transaction() as tx:
            if max_bytes is not None:
                await tx.lock(f"stylebot:uploads:{user_id}")
                used = int(await tx.scalar(sql.UPLOADED_SINCE, {"user": user_id, "since": now - DAY_S}) or 0)
                if used + size > max_bytes:
                    raise LimitReached(LimitKind.UPLOADS, used, max_bytes)
            await tx.execute(sql.LOG_UPLOAD, {"user": user_id, "bytes": size, "now": now})

    async def mark_pending_used(self, chat_id: int, user_id: int) -> None:
        await self._db.execute(sql.MARK_PENDING_USED, {"chat": chat_id, "user": user_id})

    async def clear_pending(self, chat_id: int, user_id: int) -> bool:
        return await self._db.execute(sql.CLEAR_PENDING, {"chat": chat_id, "user": user_id}) > 0

    async def delivery(self, job_id: int) -> DeliveryRecord | None:
        """The record of a job's delivered outcome, if it was sent."""
        row = await self._db.fetchone(sql.DELIVERY, {"job": job_id})
        return _delivery(row) if row else None

    async def record_delivery(
        self, job_id: int, chat_id: int, user_id: int, message_id: int | None, file_id: str | None, caption: str
    ) -> None:
        await self._db.execute(
            sql.RECORD_DELIVERY,
            {
                "job": job_id,
                "chat": chat_id,
                "user": user_id,
                "message": message_id,
                "file_id": file_id,
                "caption": caption,
                "now": time.time(),
            },
        )

    async def recent_results(self, user_id: int, limit: int = 20) -> list[DeliveryRecord]:
        """The user's delivered pictures (with a file_id), newest first."""
        rows = await self._db.fetchall(sql.RECENT_RESULTS, {"user": user_id, "limit": limit})
        return [_delivery(row) for row in rows]

    async def choose_style(self, chat_id: int, user_id: int, preset: str) -> None:
        """Remember a style for the user's next photo in this chat (a deep link chose it)."""
        await self._db.execute(
            sql.CHOOSE_STYLE, {"chat": chat_id, "user": user_id, "preset": preset, "now": time.time()}
        )

    async def take_chosen_style(self, chat_id: int, user_id: int, max_age_s: float) -> str | None:
        """The style chosen for this photo, if one was (and not longer than max_age_s ago); it is used up."""
        rows = await self._db.fetchall_writing(sql.TAKE_CHOSEN_STYLE, {"chat": chat_id, "user": user_id})
        if not rows or time.time() - rows[0]["created_at"] > max_age_s:
            return None
        preset: str = rows[0]["preset"]
        return preset

    async def forget_user(self, user_id: int) -> None:
        """Delete the user's pending photos, chosen styles and delivery records (their pictures go with their
        storage prefix; upload_log stays, like job_log, so the daily cap on stored bytes holds)."""
        async with self._db.transaction() as tx:
            await tx.execute(sql.DELETE_USER_PENDING, {"user": user_id})
            await tx.execute(sql.DELETE_USER_CHOSEN_STYLES, {"user": user_id})
            await tx.execute(sql.DELETE_USER_DELIVERIES, {"user": user_id})
