"""Schema migrations: numbered SQL files applied in order, each in its own transaction."""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.db import connect, write_transaction
from stylebot.config import Settings

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""
CURRENT_VERSION = "SELECT ifnull(max(version), 0) FROM schema_migrations"
RECORD = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"


class MigrationError(Exception):
    """The schema cannot be brought to the version this code expects."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file name, e.g. "0001_initial.sql"
    path: Path


def migrations_dir() -> Path:
    """The bundled `migrations/` folder, or STYLEBOT_MIGRATIONS_DIR."""
    override = os.environ.get("STYLEBOT_MIGRATIONS_DIR", "").strip()
    return Path(override) if override else Path(__file__).resolve().parents[1] / "migrations"


def discover(folder: Path) -> list[Migration]:
    """The migration files in version order; other files are ignored, a duplicate version is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations have version {version}: {found[version].name}, {path.name}")
        found[version] = Migration(version, path.name, path)
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


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute(CREATE_TABLE)
    return int(conn.execute(CURRENT_VERSION).fetchone()[0])


def apply_migrations(db_path: Path, *, folder: Path | None = None) -> list[str]:
    """Bring the database up to date; returns the names applied (empty when it already was)."""
    available = discover(folder or migrations_dir())
    latest = available[-1].version if available else 0
    conn = connect(db_path)
    try:
        version = current_version(conn)
        if version > latest:
            raise MigrationError(
                f"the database {db_path} is at schema version {version}, newer than this code knows "
                f"(up to {latest}); run a newer stylebot or restore a matching backup"
            )
        applied: list[str] = []
        for migration in available:
            if migration.version > version and _apply_one(conn, migration, db_path):
                applied.append(migration.name)
        return applied
    finally:
        conn.close()


def _apply_one(conn: sqlite3.Connection, migration: Migration, db_path: Path) -> bool:
    """Apply one migration in its own transaction; False when another process got there first."""
    statements = split_statements(migration.path.read_text(encoding="utf-8"))
    try:
        with write_transaction(conn):
            # Re-read under the write lock: the bot and the workers may all start at once.
            version = current_version(conn)
            if version >= migration.version:
                return False
            for statement in statements:
                conn.execute(statement)
            conn.execute(RECORD, (migration.version, migration.name, time.time()))
    except sqlite3.Error as exc:
        raise MigrationError(
            f"migration {migration.name} failed ({exc}); {db_path} was left at version {current_version(conn)}"
        ) from exc
    return True


def main(argv: list[str] | None = None) -> int:
    """`stylebot migrate`: apply pending migrations and say what was done."""
    parser = argparse.ArgumentParser(prog="stylebot migrate", description=main.__doc__)
    parser.add_argument("--db", type=Path, help="database file (default: in $STYLEBOT_DATA_DIR)")
    args = parser.parse_args(argv)
    db_path: Path = args.db or Settings.from_env().db_path
    try:
        applied = apply_migrations(db_path)
    except MigrationError as exc:
        print(f"stylebot migrate: {exc}", file=sys.stderr)
        return 1
    if not applied:
        print(f"database is up to date ({db_path})")
    for name in applied:
        print(f"applied {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
