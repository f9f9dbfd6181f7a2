"""The one builder of test settings: short leases and intervals, so recovery happens in test time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from settings import Settings

TEST_SIZE = 64  # pictures in tests are tiny
TEST_ITERATIONS = 20


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "default_size": TEST_SIZE,
        "default_iterations": TEST_ITERATIONS,
        "lease_s": 1.0,
        "heartbeat_s": 0.1,
        "preview_interval_s": 0.2,
        "shutdown_grace_s": 0.2,
        "job_time_limit_s": 30.0,
        "max_attempts": 3,
        "builtin_presets": False,  # tests make their own presets; test_bot_presets_builtin.py turns these on
        "sketch": False,  # an extra picture in every chat; test_bot_sketches.py turns it on
    }
    values.update(overrides)
    return Settings(**values)
