"""Schema migrations: numbered SQL files applied in order, each in its own transaction, on SQLite or Postgres.

The files are the `migrations` package's `sqlite/` or `postgresql/` folder (the setting `migrations_dir`,
STYLEBOT_MIGRATIONS_DIR, may name a folder holding those two instead). On Postgres the runner also installs
procrastinate's schema, the queue's tables, from the procrastinate package itself.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

import migrations
from jobs.database import POSTGRES, SyncDatabase, statement
from settings import Settings

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any fixed number: every process that migrates a Postgres database takes this lock first.
ADVISORY_LOCK_ID = 7_172_024_015

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""
CURRENT_VERSION = "SELECT coalesce(max(version), 0) FROM schema_migrations"
RECORD = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:version, :name, :now)"
HAS_PROCRASTINATE = "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"


class MigrationError(Exception):
    """The schema cannot be brought to the version this code expects."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file name, e.g. "0001_initial.sql"
    path: Path


def migrations_dir(dialect: str, override: Path | None = None) -> Path:
    """The migrations of `dialect`: the installed package's, or those under `override` (STYLEBOT_MIGRATIONS_DIR)."""
    return override / dialect if override is not None else migrations.folder(dialect)


def discover(folder: Path) -> list[Migration]:
    """The migration files in version order; other files are ignored. A missing or empty folder is an error."""
    if not folder.is_dir():
        raise MigrationError(
            f"the migrations folder {folder} does not exist; reinstall stylebot, or point STYLEBOT_MIGRATIONS_DIR "
            "at the folder that holds sqlite/ and postgresql/"
        )
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations have version {version}: {found[version].name}, {path.name}")
        found[version] = Migration(version, path.name, path)
    if not found:
        raise MigrationError(f"the migrations folder {folder} holds no NNNN_name.sql file")
    return [found[v] for v in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split a script at the semicolons SQLite agrees end a statement (not in strings or triggers)."""
    statements: list[str] = []
    current = ""
    for char in sql:
        current += char
        if char == ";" and sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not _only_comments(current):
        statements.append(current.strip())
    return statements


def _only_comments(text: str) -> bool:
    lines = (line.strip() for line in text.splitlines())
    return all(not line or line.startswith("--") for line in lines)


def apply_migrations(url: str, *, root: Path | None = None, folder: Path | None = None) -> list[str]:
    """Bring the database at `url` up to date; returns the names of the migrations applied.

    The files come from `folder`, else from the dialect's folder under `root` (STYLEBOT_MIGRATIONS_DIR), else
    from the installed `migrations` package.
    """
    database = SyncDatabase(url)
    try:
        available = discover(folder or migrations_dir(database.dialect, root))
        applied = [m.name for m in available if _apply_one(database, m, available[-1].version)]
        if database.dialect == POSTGRES:
            _install_procrastinate(database)
        return applied
    except SQLAlchemyError as exc:
        raise MigrationError(f"the database could not be migrated: {exc}") from exc
    finally:
        database.close()


def _current_version(conn: Connection) -> int:
    conn.exec_driver_sql(CREATE_TABLE)
    return int(conn.exec_driver_sql(CURRENT_VERSION).scalar_one())


def _lock(conn: Connection) -> None:
    """Serialise migrating processes (SQLite: BEGIN IMMEDIATE already holds the write lock)."""
    if conn.dialect.name == POSTGRES:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_ID})")


def _apply_one(database: SyncDatabase, migration: Migration, latest: int) -> bool:
    """Apply one migration in its own transaction; False when it (or a newer schema) is already there."""
    with database.transaction() as conn:
        _lock(conn)
        # Read under the lock: the bot and the workers may all start at once.
        version = _current_version(conn)
        if version > latest:
            raise MigrationError(
                f"the database is at schema version {version}, newer than this code knows (up to {latest}); "
                "run a newer stylebot or restore a matching backup"
            )
        if version >= migration.version:
            return False
        script = migration.path.read_text(encoding="utf-8")
        try:
            _run_script(conn, script)
        except SQLAlchemyError as exc:
            raise MigrationError(f"migration {migration.name} failed ({exc}); the database stays at {version}") from exc
        conn.execute(statement(RECORD), {"version": migration.version, "name": migration.name, "now": time.time()})
    return True


def _run_script(conn: Connection, script: str) -> None:
    if conn.dialect.name == POSTGRES:
        # psycopg runs a parameterless multi-statement script in one round trip (dollar-quoted bodies and all).
        conn.connection.driver_connection.execute(script)  # type: ignore[union-attr]
        return
    for sql in split_statements(script):
        conn.exec_driver_sql(sql)


def _install_procrastinate(database: SyncDatabase) -> None:
    """Create procrastinate's tables and functions once (its schema ships inside the procrastinate package)."""
    from procrastinate.schema import SchemaManager

    with database.transaction() as conn:
        _lock(conn)
        if conn.exec_driver_sql(HAS_PROCRASTINATE).scalar_one():
            return
        conn.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    """`stylebot migrate`: apply pending migrations and say what was done."""
    parser = argparse.ArgumentParser(prog="stylebot migrate", description=main.__doc__)
    parser.add_argument("--database-url", help="default: $STYLEBOT_DATABASE_URL, else the SQLite file in the data dir")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    url: str = args.database_url or settings.database
    try:
        applied = apply_migrations(url, root=settings.migrations_dir)
    except MigrationError as exc:
        print(f"stylebot migrate: {exc}", file=sys.stderr)
        return 1
    if not applied:
        print("the database is up to date")
    for name in applied:
        print(f"applied {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
