"""The migration runner: fresh databases of both dialects, re-runs, upgrades, and databases it must refuse."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from jobs.bot_stores import bot_stores
from jobs.identities import Platform
from jobs.migrate import MigrationError, apply_migrations, main
from jobs.models import JobParams
from tests.support.settings import make_settings

SQLITE_TABLES = {"chats", "users", "requests", "jobs", "presets", "user_settings", "pending", "deliveries", "workers"}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def versions(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "migrations" / "sqlite"
    path.mkdir(parents=True)
    (path / "0001_first.sql").write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'x;y');\n")
    (path / "0002_second.sql").write_text(
        "-- a comment; with a semicolon\nCREATE TABLE b (id INTEGER);\n"
        "INSERT INTO b VALUES (1); INSERT INTO b VALUES (2);\n"
    )
    (path / "README.txt").write_text("not a migration")
    return path


def test_fresh_sqlite_database_gets_the_real_schema(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    applied = apply_migrations(sqlite_url(db))
    assert applied[0] == "0001_initial.sql"
    assert SQLITE_TABLES <= tables(db)
    assert versions(db)[-1] == int(applied[-1][:4])


def test_fresh_postgres_database_gets_the_schema_and_the_queue(postgres_url: str) -> None:
    assert apply_migrations(postgres_url)[0] == "0001_initial.sql"
    assert apply_migrations(postgres_url) == []  # and a second start changes nothing
    with psycopg.connect(postgres_url) as conn:
        names = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert SQLITE_TABLES | {"procrastinate_jobs", "procrastinate_workers", "schema_migrations"} <= names


def test_rerun_is_a_no_op(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    assert apply_migrations(sqlite_url(db), folder=folder) == ["0001_first.sql", "0002_second.sql"]
    assert apply_migrations(sqlite_url(db), folder=folder) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone()[0] == 2  # not inserted twice


def test_upgrade_from_an_older_version(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    (folder / "0002_second.sql").rename(tmp_path / "later.sql")
    assert apply_migrations(sqlite_url(db), folder=folder) == ["0001_first.sql"]
    (tmp_path / "later.sql").rename(folder / "0002_second.sql")
    assert apply_migrations(sqlite_url(db), folder=folder) == ["0002_second.sql"]
    assert versions(db) == [1, 2]


def test_paths_of_an_old_database_become_storage_keys(tmp_path: Path) -> None:
    """A database written before the storage (0002) keeps its queued jobs: their paths become keys."""
    db = tmp_path / "bot.sqlite3"
    old = tmp_path / "old"
    (old / "sqlite").mkdir(parents=True)
    for name in ("0001_initial.sql", "0002_bot_state.sql"):
        (old / "sqlite" / name).write_text((Path(__file__).parents[1] / "migrations" / "sqlite" / name).read_text())
    apply_migrations(sqlite_url(db), folder=old / "sqlite")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO chats VALUES (1, 'private', 0)")
        conn.execute("INSERT INTO users VALUES (1, 'a', 0)")
        conn.execute("INSERT INTO requests VALUES (1, 1, 5, 1, NULL, 0)")
        conn.execute(
            "INSERT INTO jobs (id, request_id, user_id, params, content_path, style_paths, created_at) VALUES "
            "(1, 1, 1, '{}', 'data/files/users/1/uploads/a.jpg', '[\"/srv/data/files/presets/global/s.png\"]', 0)"
        )
    apply_migrations(sqlite_url(db))
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT content_key, style_keys, turn FROM jobs").fetchone()
    assert row == ("users/1/uploads/a.jpg", '["presets/global/s.png"]', 0)


async def test_rows_stored_before_discord_stay_telegrams(tmp_path: Path) -> None:
    """Upgrading a database of the Telegram-only bot (before 0008): its users keep their jobs and counts as Telegram
    users, and the Discord user with the same number is somebody else."""
    db = tmp_path / "bot.sqlite3"
    old = tmp_path / "old" / "sqlite"
    old.mkdir(parents=True)
    for script in sorted((Path(__file__).parents[1] / "migrations" / "sqlite").glob("*.sql")):
        if int(script.name[:4]) < 8:
            (old / script.name).write_text(script.read_text())
    apply_migrations(sqlite_url(db), folder=old)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO chats VALUES (5, 'private', 0)")
        conn.execute("INSERT INTO users VALUES (5, 'telegram five', 0)")
        conn.execute("INSERT INTO requests (id, chat_id, message_id, user_id, created_at) VALUES (1, 5, 9, 5, 0)")
        conn.execute(
            "INSERT INTO jobs (id, request_id, user_id, params, content_key, style_keys, created_at, state, outcome) "
            "VALUES (1, 1, 5, ?, 'users/5/uploads/a.png', '[]', 0, 'done', 'done')",
            (JobParams(max_side=64, iterations=10).to_json(),),
        )
    settings = make_settings(tmp_path, database_url=sqlite_url(db))
    async with bot_stores(settings) as stores:
        assert [job.id for job in await stores.jobs.undelivered(Platform.TELEGRAM)] == [1]
        assert await stores.jobs.undelivered(Platform.DISCORD) == []
        discord_five = await stores.identities.stored_id(Platform.DISCORD, 5)
        assert discord_five != 5 and await stores.jobs.history(discord_five) == []
        assert [job.id for job in await stores.jobs.history(5)] == [1]


def test_newer_database_is_refused(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    apply_migrations(sqlite_url(db), folder=folder)
    (folder / "0002_second.sql").unlink()
    with pytest.raises(MigrationError, match="newer than this code"):
        apply_migrations(sqlite_url(db), folder=folder)


def test_failed_migration_leaves_the_database_as_it_was(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    (folder / "0003_broken.sql").write_text("CREATE TABLE c (id INTEGER);\nTHIS IS NOT SQL;\n")
    with pytest.raises(MigrationError, match=r"0003_broken\.sql failed"):
        apply_migrations(sqlite_url(db), folder=folder)
    assert versions(db) == [1, 2]
    assert "c" not in tables(db)


def test_a_missing_migrations_folder_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STYLEBOT_MIGRATIONS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(MigrationError, match="does not exist"):
        apply_migrations(sqlite_url(tmp_path / "bot.sqlite3"), root=tmp_path / "nowhere")
    assert main(["--database-url", sqlite_url(tmp_path / "bot.sqlite3")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "bot.sqlite3").exists() or "jobs" not in tables(tmp_path / "bot.sqlite3")


def test_env_override_and_cli(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STYLEBOT_MIGRATIONS_DIR", str(folder.parent))
    url = sqlite_url(tmp_path / "bot.sqlite3")
    assert main(["--database-url", url]) == 0
    assert "applied 0001_first.sql" in capsys.readouterr().out
    assert main(["--database-url", url]) == 0
    assert "database is up to date" in capsys.readouterr().out
    (folder / "0002_second.sql").unlink()
    assert main(["--database-url", url]) == 1
    assert "newer than this code" in capsys.readouterr().err
