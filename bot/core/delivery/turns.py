"""One delivery at a time per chat, in the order they started (so a chat's results arrive in job order)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class ChatTurns:
    """A lock per chat, kept only while someone holds or waits for it (memory stays bounded by the chats busy)."""

    def __init__(self) -> None:
        self._turns: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._turns.setdefault(chat_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._turns[chat_id]
