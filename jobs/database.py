"""One way to reach the database from every process: SQLAlchemy engines over SQLite or Postgres.

The job system's SQL (`jobs.sql`) is written once in the dialect both databases accept, with `:named`
parameters; SQLAlchemy binds them for aiosqlite/sqlite3 or psycopg. The bot uses the async `Database`, worker
processes and the migration runner the sync `SyncDatabase`.

SQLite gets the same connection set-up everywhere: WAL, a busy timeout, foreign keys, and write transactions
that take the write lock up front (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading a read lock.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, TextClause, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE = "sqlite"
POSTGRES = "postgresql"
BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
)
WRITE = "stylebot_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)
AUTOCOMMIT = "AUTOCOMMIT"
ADVISORY_XACT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"

Params = Mapping[str, Any]


class DatabaseUrlError(ValueError):
    """STYLEBOT_DATABASE_URL names a database this code can't use."""


def dialect_of(url: str) -> str:
    """`sqlite` or `postgresql` (the two the job system supports)."""
    name = make_url(_normalise(url)).get_backend_name()
    if name not in (SQLITE, POSTGRES):
        raise DatabaseUrlError(f"unsupported database {name!r}: use a postgresql:// URL, or leave it unset for SQLite")
    return name


def _normalise(url: str) -> str:
    return "postgresql://" + url.removeprefix("postgres://") if url.startswith("postgres://") else url


def driver_url(url: str, *, asynchronous: bool) -> str:
    """The URL with the driver this project uses: aiosqlite/pysqlite for SQLite, psycopg (3) for Postgres."""
    parsed = make_url(_normalise(url))
    if dialect_of(url) == SQLITE:
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite+pysqlite").render_as_string(
            hide_password=False
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL as libpq (and so procrastinate's psycopg connector) reads it."""
    return make_url(_normalise(url)).set(drivername="postgresql").render_as_string(hide_password=False)


@functools.lru_cache(maxsize=512)
def statement(sql: str) -> TextClause:
    """The compiled form of one SQL text (cached: the same few statements run all the time)."""
    return text(sql)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver never opens transactions on its own
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _reads(engine: Any, dialect: str) -> Any:
    """Postgres runs single-statement reads without BEGIN/ROLLBACK around them (two round trips fewer)."""
    return engine.execution_options(isolation_level=AUTOCOMMIT) if dialect == POSTGRES else engine


def _engine_options(url: str) -> dict[str, Any]:
    if dialect_of(url) == POSTGRES:
        # pre_ping: a connection that died with a Postgres restart is replaced instead of failing a request.
        return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
    return {}


class Database:
    """The bot's async access: reads in their own short transaction, writes in `transaction()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        self.engine: AsyncEngine = create_async_engine(driver_url(url, asynchronous=True), **_engine_options(url))
        if self.dialect == SQLITE:
            _configure_sqlite(self.engine.sync_engine)
        self._reads: AsyncEngine = _reads(self.engine, self.dialect)

    async def fetchone(self, sql: str, params: Params | None = None) -> RowMapping | None:
        async with self._reads.connect() as conn:
            result = await conn.execute(statement(sql), dict(params or {}))
            return result.mappings().first()

    async def fetchall(self, sql: str, params: Params | None = None) -> list[RowMapping]:
        async with self._reads.connect() as conn:
            result = await conn.execute(statement(sql), dict(params or {}))
            return list(result.mappings().all())

    async def scalar(self, sql: str, params: Params | None = None) -> Any:
        async with self._reads.connect() as conn:
            result = await conn.execute(statement(sql), dict(params or {}))
            return result.scalar()

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """One write statement in its own transaction; returns the number of rows it changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def fetchall_writing(self, sql: str, params: Params | None = None) -> list[RowMapping]:
        """One write statement with RETURNING, in its own transaction; every returned row."""
        async with self.transaction() as tx:
            return await tx.fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction, committed on success and rolled back on error."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield Transaction(conn)

    async def close(self) -> None:
        await self.engine.dispose()


class Transaction:
    """Statements inside an open write transaction of `Database`."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Params | None = None) -> int:
        result = await self.conn.execute(statement(sql), dict(params or {}))
        return result.rowcount

    async def fetchone(self, sql: str, params: Params | None = None) -> RowMapping | None:
        result = await self.conn.execute(statement(sql), dict(params or {}))
        return result.mappings().first()

    async def fetchall(self, sql: str, params: Params | None = None) -> list[RowMapping]:
        result = await self.conn.execute(statement(sql), dict(params or {}))
        return list(result.mappings().all())

    async def scalar(self, sql: str, params: Params | None = None) -> Any:
        result = await self.conn.execute(statement(sql), dict(params or {}))
        return result.scalar()

    async def lock(self, name: str) -> None:
        """Hold a lock named `name` until this transaction ends, so the counts read after it stay true until the
        insert commits. Postgres: a transaction-level advisory lock; SQLite: BEGIN IMMEDIATE already holds the one
        write lock, so writers are serialised anyway."""
        if self.conn.dialect.name == POSTGRES:
            await self.conn.execute(statement(ADVISORY_XACT_LOCK), {"name": name})

    async def driver_connection(self) -> Any:
        """The driver's own connection (psycopg's, on Postgres), for libraries that join this transaction."""
        raw = await self.conn.get_raw_connection()
        return raw.driver_connection


class SyncDatabase:
    """Blocking access for worker processes and migrations; thread-safe (each call takes a pooled connection)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        self.engine: Engine = create_engine(driver_url(url, asynchronous=False), **_engine_options(url))
        if self.dialect == SQLITE:
            _configure_sqlite(self.engine)
        self._reads: Engine = _reads(self.engine, self.dialect)

    def fetchone(self, sql: str, params: Params | None = None) -> RowMapping | None:
        with self._reads.connect() as conn:
            return conn.execute(statement(sql), dict(params or {})).mappings().first()

    def fetchall(self, sql: str, params: Params | None = None) -> list[RowMapping]:
        with self._reads.connect() as conn:
            return list(conn.execute(statement(sql), dict(params or {})).mappings().all())

    def execute(self, sql: str, params: Params | None = None) -> int:
        """One write statement in its own transaction; returns the number of rows it changed."""
        with self.transaction() as conn:
            return conn.execute(statement(sql), dict(params or {})).rowcount

    def write_returning(self, sql: str, params: Params | None = None) -> list[RowMapping]:
        """One write statement with RETURNING, in its own transaction; every returned row."""
        with self.transaction() as conn:
            return list(conn.execute(statement(sql), dict(params or {})).mappings().all())

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()
