"""`stylebot bench` keeps working: it prints one row per size and optimiser, and the picture time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.bench import parse_sizes

ROOT = Path(__file__).resolve().parents[1]


def test_sizes_accept_sides_and_width_by_height() -> None:
    assert parse_sizes("256, 512x384") == [(256, 256), (512, 384)]


def test_bench_reports_ms_per_iteration_against_the_bare_network(tmp_path: Path) -> None:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "stylebot.cli", "bench", "--backend", "tensorflow", "--sizes", "48x32",
         "--iterations", "2", "--repeats", "1", "--picture", "32", "--picture-weights", "random",
         "--content", str(tmp_path / "missing.jpg"), "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    speed = [r for r in rows if "optimizer" in r]
    assert {r["optimizer"] for r in speed} == {"lbfgs", "adam"}
    assert all(r["size"] == "48x32" and r["ms_per_iteration"] > 0 and r["bare_vgg_ms"] > 0 for r in speed)
    picture = [r for r in rows if "picture" in r]
    assert picture and picture[0]["iterations"] == 200 and picture[0]["seconds_to_picture"] > 0
