"""What every handler of a chat front end needs: the settings, the stores (opened when the bot starts), the picture
caches and gates, the sketches (bot.telegram.services adds what only Telegram needs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobs.bot_stores import BotStores
from jobs.identities import SqlIdentityStore
from jobs.interface import BotQueue, ChatStateStore, PreferencesStore, PresetStore
from jobs.storage import MissingFile, Storage
from settings import Settings

from .albums import AlbumCollector
from .images import SKETCH_INPUT_CACHE, DecodeGate, JpegCache
from .sketches import Sketches

REFUSAL_EVERY_S = 3600.0  # someone who is not on the allow-list is told so once an hour


class Throttle:
    """Says whether something may happen again for a key: at most once every `every_s` seconds."""

    def __init__(self, every_s: float, max_keys: int = 100_000) -> None:
        self.every_s = every_s
        self.max_keys = max_keys
        self._last: dict[object, float] = {}

    def due(self, key: object) -> bool:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            return False
        if len(self._last) >= self.max_keys:  # a flood of strangers must not grow memory without bound
            self._last = {k: t for k, t in self._last.items() if now - t < self.every_s}
        self._last[key] = now
        return True


@dataclass(frozen=True)
class Tuning:
    """Timings of the bot's own loops (tests shorten them)."""

    delivery_poll_s: float = 1.0  # how often the delivery loop reads the queue
    preview_interval_s: float = 15.0  # at most one preview picture per status message this often
    album_wait_s: float = 1.5  # an album is complete when no part arrived for this long
    pending_ttl_s: float = 6 * 3600.0  # how long a photo waits for its style


@dataclass
class Services:
    settings: Settings
    tuning: Tuning
    stores: BotStores | None = None
    albums: AlbumCollector[Any] | None = None
    bot_username: str = ""
    # Told the text of each new status message, so the delivery loop doesn't edit it needlessly.
    on_status_posted: Callable[[int, str], None] | None = None
    closers: list[Any] = field(default_factory=list)  # async callables run in post_shutdown, last first
    refusals: Throttle = field(default_factory=lambda: Throttle(REFUSAL_EVERY_S))
    decodes: DecodeGate = field(default_factory=DecodeGate)  # every picture the handlers decode goes through it
    thumbnails: JpegCache = field(default_factory=JpegCache)
    sketch_inputs: JpegCache = field(default_factory=lambda: JpegCache(SKETCH_INPUT_CACHE))
    sketches: Sketches | None = None  # the instant sketch (STYLEBOT_SKETCH), started in post_init
    _locks: dict[tuple[int, int], asyncio.Lock] = field(default_factory=dict)

    def _opened(self) -> BotStores:
        assert self.stores is not None, "the stores are opened in post_init"
        return self.stores

    @property
    def jobs(self) -> BotQueue:
        return self._opened().jobs

    @property
    def presets(self) -> PresetStore:
        return self._opened().presets

    @property
    def preferences(self) -> PreferencesStore:
        return self._opened().preferences

    @property
    def chat_state(self) -> ChatStateStore:
        return self._opened().chat_state

    @property
    def identities(self) -> SqlIdentityStore:
        return self._opened().identities

    @property
    def storage(self) -> Storage:
        return self._opened().storage

    async def read_picture(self, key: str | None) -> bytes | None:
        """A stored picture's bytes, or None when it is gone (deleted, or never stored)."""
        if key is None:
            return None
        try:
            return await asyncio.to_thread(self.storage.get, key)
        except MissingFile:
            return None

    def lock(self, chat_id: int, user_id: int) -> asyncio.Lock:
        """One lock per (chat, user): a member's updates are handled in order, others' in parallel."""
        return self._locks.setdefault((chat_id, user_id), asyncio.Lock())

