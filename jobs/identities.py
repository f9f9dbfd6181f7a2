"""Stored user and chat ids, scoped by platform: a Discord user and a Telegram user with the same number are two
people, with their own quotas, history, presets and /forget.

A Telegram id is stored as it is: Telegram's user and chat ids have at most 52 significant bits (the Bot API's
promise), so they all lie in TELEGRAM_IDS, and every row stored before other platforms existed is Telegram's.
Another platform's id (a Discord snowflake: user, channel or server) is given a stored id once, in the
`identities` table, in a range of its own above Telegram's; `platform_of` tells a stored id's platform by its range
alone, so a front end can pick out its own jobs in SQL.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from enum import StrEnum

from jobs.database import Database

TELEGRAM_LIMIT = 2**53  # Telegram ids: |id| < 2**53
RANGE_SIZE = 2**60  # each other platform's stored ids: [base, base + RANGE_SIZE)
CACHED = 100_000  # mappings kept in memory (a few MB): a busy bot maps the same people again and again

MAP = """
INSERT INTO identities (platform, external_id, created_at) VALUES (:platform, :external, :now)
ON CONFLICT (platform, external_id) DO NOTHING
"""
ROW_ID = "SELECT id FROM identities WHERE platform = :platform AND external_id = :external"
EXTERNAL = "SELECT external_id FROM identities WHERE id = :id AND platform = :platform"


class Platform(StrEnum):
    """A chat platform with a front end."""

    TELEGRAM = "telegram"
    DISCORD = "discord"


_BASES = {Platform.DISCORD: RANGE_SIZE}


def id_range(platform: Platform) -> tuple[int, int]:
    """[low, high) of the stored ids of this platform's users and chats."""
    if platform == Platform.TELEGRAM:
        return -TELEGRAM_LIMIT, TELEGRAM_LIMIT
    base = _BASES[platform]
    return base, base + RANGE_SIZE


def platform_of(stored_id: int) -> Platform:
    """The platform whose user or chat this stored id is."""
    for platform in Platform:
        low, high = id_range(platform)
        if low <= stored_id < high:
            return platform
    raise ValueError(f"{stored_id} is no platform's stored id")


class SqlIdentityStore:
    """Maps a platform's own ids to stored ids and back (cached: a mapping never changes)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._stored: OrderedDict[tuple[Platform, int], int] = OrderedDict()
        self._external: OrderedDict[int, int] = OrderedDict()

    async def stored_id(self, platform: Platform, external_id: int) -> int:
        """The id under which this platform's user or chat is stored (given one on first sight)."""
        if platform == Platform.TELEGRAM:
            if not -TELEGRAM_LIMIT < external_id < TELEGRAM_LIMIT:
                raise ValueError(f"not a Telegram id: {external_id}")
            return external_id
        key = (platform, external_id)
        cached = self._stored.get(key)
        if cached is not None:
            self._stored.move_to_end(key)
            return cached
        params = {"platform": platform.value, "external": external_id, "now": time.time()}
        async with self._db.transaction() as tx:
            await tx.execute(MAP, params)
            row_id = int(await tx.scalar(ROW_ID, params))
        stored = id_range(platform)[0] + row_id
        self._remember(key, stored)
        return stored

    async def external_id(self, stored_id: int) -> int | None:
        """The platform's own id of a stored user or chat (None: never mapped)."""
        platform = platform_of(stored_id)
        if platform == Platform.TELEGRAM:
            return stored_id
        cached = self._external.get(stored_id)
        if cached is not None:
            return cached
        row_id = stored_id - id_range(platform)[0]
        found = await self._db.scalar(EXTERNAL, {"id": row_id, "platform": platform.value})
        if found is None:
            return None
        self._remember((platform, int(found)), stored_id)
        return int(found)

    def _remember(self, key: tuple[Platform, int], stored: int) -> None:
        self._stored[key] = stored
        self._external[stored] = key[1]
        while len(self._stored) > CACHED:
            _, dropped = self._stored.popitem(last=False)
            self._external.pop(dropped, None)
