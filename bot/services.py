"""What every handler needs, kept in `application.bot_data` (stores are opened in post_init)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application, ContextTypes

from jobs import files
from jobs.interface import BotQueue, PresetStore, SettingsStore
from stylebot.config import Settings

from .albums import AlbumCollector
from .state import BotState

SERVICES_KEY = "stylebot.services"


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
    queue: BotQueue | None = None
    presets: PresetStore | None = None
    user_settings: SettingsStore | None = None
    state: BotState | None = None
    albums: AlbumCollector[Any] | None = None
    bot_username: str = ""
    # Told the text of each new status message, so the delivery loop doesn't edit it needlessly.
    on_status_posted: Callable[[int, str], None] | None = None
    closers: list[Any] = field(default_factory=list)  # async callables run in post_shutdown, last first
    _locks: dict[tuple[int, int], asyncio.Lock] = field(default_factory=dict)

    @property
    def q(self) -> BotQueue:
        assert self.queue is not None, "the job store is opened in post_init"
        return self.queue

    @property
    def p(self) -> PresetStore:
        assert self.presets is not None, "the preset store is opened in post_init"
        return self.presets

    @property
    def us(self) -> SettingsStore:
        assert self.user_settings is not None, "the settings store is opened in post_init"
        return self.user_settings

    @property
    def st(self) -> BotState:
        assert self.state is not None, "the bot state is opened in post_init"
        return self.state

    def lock(self, chat_id: int, user_id: int) -> asyncio.Lock:
        """One lock per (chat, user): a member's updates are handled in order, others' in parallel."""
        return self._locks.setdefault((chat_id, user_id), asyncio.Lock())

    def user_dir(self, user_id: int) -> Path:
        """Where this user's downloaded pictures are kept (removed by /forget)."""
        return files.user_dir(self.settings.files_dir, user_id)

    def upload_path(self, user_id: int, file_unique_id: str, suffix: str) -> Path:
        """The file for one of the user's pictures (named by Telegram's unique id: fetched once)."""
        return self.user_dir(user_id) / "uploads" / f"{file_unique_id}{suffix}"


def services(context: ContextTypes.DEFAULT_TYPE | Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The Services object of this application."""
    return context.bot_data[SERVICES_KEY]
