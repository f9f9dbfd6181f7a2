"""The migration runner: fresh database, re-runs, upgrades, and databases it must refuse."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jobs import migrate
from jobs.migrate import MigrationError, apply_migrations


def versions(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "migrations"
    path.mkdir()
    (path / "0001_first.sql").write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'x;y');\n")
    (path / "0002_second.sql").write_text(
        "-- a comment; with a semicolon\nCREATE TABLE b (id INTEGER);\n"
        "INSERT INTO b VALUES (1); INSERT INTO b VALUES (2);\n"
    )
    (path / "README.txt").write_text("not a migration")
    return path


def test_fresh_database_gets_the_real_schema(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    applied = apply_migrations(db)
    assert applied[0] == "0001_initial.sql"
    assert {"chats", "users", "requests", "jobs", "presets", "user_settings"} <= tables(db)
    assert versions(db)[-1] == int(applied[-1][:4])


def test_rerun_is_a_no_op(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    assert apply_migrations(db, folder=folder) == ["0001_first.sql", "0002_second.sql"]
    assert apply_migrations(db, folder=folder) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone()[0] == 2  # not inserted twice


def test_upgrade_from_an_older_version(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    (folder / "0002_second.sql").rename(tmp_path / "later.sql")
    assert apply_migrations(db, folder=folder) == ["0001_first.sql"]
    (tmp_path / "later.sql").rename(folder / "0002_second.sql")
    assert apply_migrations(db, folder=folder) == ["0002_second.sql"]
    assert versions(db) == [1, 2]


def test_database_newer_than_the_code_is_refused(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    apply_migrations(db, folder=folder)
    (folder / "0002_second.sql").unlink()
    with pytest.raises(MigrationError, match="version 2, newer than this code knows"):
        apply_migrations(db, folder=folder)


def test_failed_migration_leaves_the_version_unchanged(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    (folder / "0003_broken.sql").write_text("CREATE TABLE c (id INTEGER);\nINSERT INTO missing VALUES (1);\n")
    with pytest.raises(MigrationError, match=r"0003_broken\.sql failed .* left at version 2"):
        apply_migrations(db, folder=folder)
    assert versions(db) == [1, 2]
    assert "c" not in tables(db)  # the half-applied migration was rolled back
    (folder / "0003_broken.sql").write_text("CREATE TABLE c (id INTEGER);\n")
    assert apply_migrations(db, folder=folder) == ["0003_broken.sql"]


def test_env_override_and_cli(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STYLEBOT_MIGRATIONS_DIR", str(folder))
    db = tmp_path / "bot.sqlite3"
    assert migrate.main(["--db", str(db)]) == 0
    assert "applied 0001_first.sql" in capsys.readouterr().out
    assert migrate.main(["--db", str(db)]) == 0
    assert "database is up to date" in capsys.readouterr().out
    (folder / "0002_second.sql").unlink()
    assert migrate.main(["--db", str(db)]) == 1
    assert "newer than this code" in capsys.readouterr().err
