"""Opening the bot's stores on the configured database and storage (migrations first)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from jobs.bot_queue import SqlBotQueue
from jobs.chat_state import SqlChatStateStore
from jobs.database import Database
from jobs.identities import SqlIdentityStore
from jobs.migrate import apply_migrations
from jobs.preferences import SqlPreferencesStore
from jobs.presets import SqlPresetStore
from jobs.queue import Dispatch, backend_for
from jobs.storage import Storage, open_storage
from settings import Settings


@dataclass
class BotStores:
    """The bot's side of the job system: `.jobs` (BotQueue), `.presets`, `.preferences`, `.chat_state`,
    `.storage`, `.identities` (each platform's ids as stored)."""

    database: Database
    storage: Storage
    dispatch: Dispatch
    jobs: SqlBotQueue
    presets: SqlPresetStore
    preferences: SqlPreferencesStore
    chat_state: SqlChatStateStore
    identities: SqlIdentityStore

    async def close(self) -> None:
        await self.dispatch.close()
        await self.database.close()


async def open_bot_stores(settings: Settings) -> BotStores:
    """Apply pending migrations, then open the database, the storage and the queue's dispatch."""
    await asyncio.to_thread(functools.partial(apply_migrations, settings.database, root=settings.migrations_dir))
    database = Database(settings.database)
    storage = await asyncio.to_thread(open_storage, settings.storage)
    dispatch = await backend_for(settings.database).open_dispatch(settings)
    return BotStores(
        database=database,
        storage=storage,
        dispatch=dispatch,
        jobs=SqlBotQueue(database, storage, dispatch),
        presets=SqlPresetStore(database, storage),
        preferences=SqlPreferencesStore(database),
        chat_state=SqlChatStateStore(database, storage),
        identities=SqlIdentityStore(database),
    )


@asynccontextmanager
async def bot_stores(settings: Settings) -> AsyncIterator[BotStores]:
    """`async with bot_stores(settings) as opened:` — closed on exit."""
    opened = await open_bot_stores(settings)
    try:
        yield opened
    finally:
        await opened.close()
