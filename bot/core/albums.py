"""Media groups: collect the photos of one album, then pair them (first = content, the rest = styles)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .i18n import N_, Text

MAX_STYLES = 4

T = TypeVar("T")


@dataclass(frozen=True)
class AlbumPair(Generic[T]):
    content: T
    styles: tuple[T, ...]


def pair_album(items: list[tuple[int, T]]) -> AlbumPair[T] | Text:
    """Pair (message_id, item) entries by message order; a string explains why they can't be paired."""
    ordered = [item for _, item in sorted(items, key=lambda entry: entry[0])]
    if len(ordered) < 2:
        return N_("An album needs two pictures: first the photo, then the style.")
    if len(ordered) > MAX_STYLES + 1:
        # TRANSLATORS: pictures is 5 and styles is 4.
        return N_(
            "Please send at most {pictures} pictures: one photo and up to {styles} styles.",
            pictures=MAX_STYLES + 1,
            styles=MAX_STYLES,
        )
    return AlbumPair(ordered[0], tuple(ordered[1:]))


AlbumKey = tuple[int, int, str]  # (chat_id, user_id, media_group_id)


class AlbumCollector(Generic[T]):
    """Buffers the messages of each media group until none has arrived for `wait_s` seconds."""

    def __init__(self, wait_s: float, on_complete: Callable[[AlbumKey, list[tuple[int, T]]], Awaitable[None]]):
        self._wait_s = wait_s
        self._on_complete = on_complete
        self._items: dict[AlbumKey, list[tuple[int, T]]] = {}
        self._timers: dict[AlbumKey, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def add(self, key: AlbumKey, message_id: int, item: T) -> None:
        """Add one album message; the album completes `wait_s` after its last message."""
        self._items.setdefault(key, []).append((message_id, item))
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.create_task(self._wait(key), name=f"album-{key[2]}")

    async def _wait(self, key: AlbumKey) -> None:
        await asyncio.sleep(self._wait_s)
        self._timers.pop(key, None)
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self._complete(key)
        finally:
            self._running.discard(task)

    async def _complete(self, key: AlbumKey) -> None:
        items = self._items.pop(key, [])
        if items:
            await self._on_complete(key, items)

    async def close(self) -> None:
        """Complete the albums still waiting now (nothing a user sent is dropped) and wait for them all."""
        waiting = list(self._timers.items())
        self._timers.clear()
        for _, timer in waiting:
            timer.cancel()
        await asyncio.gather(*(timer for _, timer in waiting), return_exceptions=True)
        await asyncio.gather(*list(self._running), return_exceptions=True)
        for key, _ in waiting:
            await self._complete(key)
