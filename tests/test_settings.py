"""Settings from the environment: defaults, every kind of value, and one clear line for a bad one."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def test_unset_and_empty_variables_keep_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"STYLEBOT_WORKERS": "  ", "STYLEBOT_DATABASE_URL": ""}) == Settings()


def test_each_kind_of_value_is_read() -> None:
    settings = Settings.from_env(
        {
            "STYLEBOT_ADMINS": "1, 2 3",
            "STYLEBOT_LEASE_SECONDS": "2.5",
            "STYLEBOT_WORKERS": "0",
            "STYLEBOT_PRESETS_DIR": "/srv/presets",
            "STYLEBOT_DATABASE_URL": "postgresql://bot@db/stylebot",
            "STYLEBOT_DEFAULT_SIZE": "384",
        }
    )
    assert settings.admins == frozenset({1, 2, 3}) and settings.lease_s == 2.5 and settings.workers == 0
    assert settings.presets_dir == Path("/srv/presets") and settings.default_size == 384
    assert settings.database == "postgresql://bot@db/stylebot"
    assert Settings(data_dir=Path("d")).database == "sqlite:///d/stylebot.sqlite3"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("STYLEBOT_WORKERS", "two", "is not a whole number"),
        ("STYLEBOT_LEASE_SECONDS", "soon", "is not a number"),
        ("STYLEBOT_ADMINS", "alice", "is not a list of whole numbers"),
    ],
)
def test_a_bad_value_is_named(variable: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=f"{variable}='{value}' {says}"):
        Settings.from_env({variable: value})


def test_the_cli_answers_a_bad_value_in_one_line() -> None:
    env = {"PATH": "", "STYLEBOT_WORKERS": "two"}
    result = subprocess.run(
        [sys.executable, "-m", "stylebot.cli", "run"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == "stylebot: STYLEBOT_WORKERS='two' is not a whole number\n"


@pytest.mark.parametrize(("level", "shows", "hides"), [("WARNING", "", "INFO"), ("DEBUG", "DEBUG", "")])
def test_the_log_level_reaches_a_worker(tmp_path: Path, level: str, shows: str, hides: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STYLEBOT_DATA_DIR": str(tmp_path),
        "STYLEBOT_LOG_LEVEL": level,
        "STYLEBOT_ENGINE_FACTORY": "tests.support.fake_engine:make_engine",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "stylebot.cli", "worker"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(3)  # long enough to start and poll the queue a few times
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    if shows:
        assert f" {shows} " in err
    if hides:
        assert f" {hides} " not in err, err


def test_every_setting_is_documented_in_the_readme() -> None:
    """Each field of `Settings` is one `STYLEBOT_*` variable, and the README's settings table names it."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for spec in dataclasses.fields(Settings):
        assert f"`STYLEBOT_{spec.metadata['env']}`" in readme, spec.name
