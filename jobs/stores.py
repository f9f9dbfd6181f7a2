"""Opening the bot's stores on the configured database and storage (migrations first)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from procrastinate import App

from jobs.chat_state import ChatState
from jobs.database import POSTGRES, Database
from jobs.migrate import apply_migrations
from jobs.presets import PresetStore
from jobs.procrastinate_queue import ProcrastinateDispatch, make_app
from jobs.storage import Storage, open_storage
from jobs.store import JobStore
from jobs.user_settings import SettingsStore
from stylebot.config import Settings


@dataclass
class Stores:
    """The bot's side of the job system: `.jobs` (BotQueue), `.presets`, `.settings`, `.chat_state`, `.storage`."""

    database: Database
    storage: Storage
    jobs: JobStore
    presets: PresetStore
    settings: SettingsStore
    chat_state: ChatState
    queue_app: App | None = None  # procrastinate, on Postgres

    async def close(self) -> None:
        if self.queue_app is not None:
            await self.queue_app.close_async()
        await self.database.close()


async def open_stores(settings: Settings) -> Stores:
    """Apply pending migrations, then open the database, the storage and (on Postgres) procrastinate."""
    await asyncio.to_thread(apply_migrations, settings.database)
    database = Database(settings.database)
    storage = await asyncio.to_thread(open_storage, settings.storage)
    app = None
    if database.dialect == POSTGRES:
        app = make_app(settings.database, pool_size=2)
        await app.open_async()
    dispatch = ProcrastinateDispatch(app) if app is not None else None
    return Stores(
        database=database,
        storage=storage,
        jobs=JobStore(database, storage, dispatch),
        presets=PresetStore(database, storage),
        settings=SettingsStore(database),
        chat_state=ChatState(database, storage),
        queue_app=app,
    )


@asynccontextmanager
async def stores(settings: Settings) -> AsyncIterator[Stores]:
    """`async with stores(settings) as opened:` — closed on exit."""
    opened = await open_stores(settings)
    try:
        yield opened
    finally:
        await opened.close()
