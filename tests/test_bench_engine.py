"""`stylebot bench` prints the README's numbers: per-iteration times, what an iteration is made of, first runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import engine as bench
from bench.cases import Case, Run

ROOT = Path(__file__).resolve().parents[1]


def test_sizes_accept_sides_and_width_by_height() -> None:
    assert bench.parse_sizes("256, 512x384") == [(256, 256), (512, 384)]


def test_bench_reports_ms_per_iteration_and_the_breakdown(tmp_path: Path) -> None:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "stylebot.cli", "bench", "--backend", "tensorflow", "--sizes", "48x32",
         "--iterations", "2", "--repeats", "1", "--picture", "32", "--picture-weights", "random", "--breakdown",
         "--content", str(tmp_path / "missing.jpg"), "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    speed = [r for r in rows if "contender" in r]
    assert {r["contender"] for r in speed} == {"lbfgs", "adam"}
    assert all(r["size"] == "48x32" and r["ms_per_iteration"] > 0 and r["bare_vgg_ms"] > 0 for r in speed)
    assert all(r["backend"] == "TensorFlow (CPU)" for r in speed)
    parts = {r["part"]: r for r in rows if "part" in r}
    assert list(parts) == [name for name, _ in bench.BREAKDOWN]
    assert parts["L-BFGS iteration"]["pct_of_lbfgs"] == 100.0 and all(p["ms"] > 0 for p in parts.values())
    [memory] = [r for r in rows if "peak_rss_mb" in r]
    assert memory["peak_rss_mb"] > 100 and memory["peak_device_mb"] is None
    picture = [r for r in rows if "picture" in r]
    # 200 at most: the stop rule ends a stage whose loss has flattened
    assert picture and 0 < picture[0]["iterations"] <= 200 and picture[0]["seconds_to_picture"] > 0


def test_the_table_is_the_readmes() -> None:
    rows = [
        {"backend": "TensorFlow (CPU)", "size": "512x512", "contender": name, "ms_per_iteration": ms,
         "bare_vgg_ms": 1767.0, "overhead_pct": pct}
        for name, ms, pct in (("lbfgs", 1938.4, 7.9), ("adam", 1998.0, -0.6))
    ]
    assert bench.speed_table(rows).splitlines()[-1] == (
        "| TensorFlow (CPU) | 512² | 1 938 | 1 998 | 1 767 | +7.9 % | −0.6 % |"
    )


def test_any_contender_is_timed_against_the_bare_network(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counting(case: Case) -> Run:
        assert case.size == (32, 32) and case.image.shape == (1, 32, 32, 3)
        return calls.append

    monkeypatch.setitem(bench.CONTENDERS, "counting", counting)
    args = bench.parse_args(["--sizes", "32", "--iterations", "3", "--repeats", "1", "--picture", "0",
                             "--contenders", "counting"])
    [row] = bench.measure(args)
    assert row["contender"] == "counting" and row["overhead_pct"] < 0  # doing nothing beats the network
    assert calls == [1, 3]  # warm-up, then the timed iterations


def test_first_run_times_building_warming_and_two_requests() -> None:
    args = bench.parse_args(["--first-run-size", "48", "--first-run-iterations", "2", "--content", "missing.jpg"])
    row = bench.first_run(args, "random:warm")
    assert row["first_run"] == "random" and row["warm_up"] is True
    parts = row["load_s"] + row["warm_up_s"] + row["first_request_s"]
    assert row["to_first_picture_s"] >= parts - 0.02  # four roundings
    assert row["second_request_s"] > 0
    assert "| random | yes |" in bench.first_run_table([row])


def test_through_worker_times_the_workers_path_next_to_the_clis() -> None:
    args = bench.parse_args(["--sizes", "32", "--iterations", "2", "--repeats", "1", "--picture", "0",
                             "--contenders", "", "--through-worker"])
    rows = bench.measure(args)
    assert [row["contender"] for row in rows] == ["stylize", "worker"]
    assert all(row["ms_per_iteration"] > 0 for row in rows)


def test_a_child_process_gets_the_same_options() -> None:
    """`--backend all` and `--first-run` start children with the parsed options written out again."""
    args = bench.parse_args(["--sizes", "32", "--breakdown", "--through-worker", "--precision", "bfloat16"])
    again = bench.parse_args(bench._forwarded(args))
    assert {k: v for k, v in vars(again).items() if k != "backend"} == {
        k: v for k, v in vars(args).items() if k != "backend"
    }


def test_the_schedule_bench_refuses_a_side_by_side_file_it_could_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked before minutes of painting, not after."""
    from bench import engine_schedule
    from tests.support.pictures import content_photo, style_painting

    photo, painting = tmp_path / "photo.png", tmp_path / "painting.png"
    content_photo().save(photo)
    style_painting().save(painting)
    args = ["--photos", str(photo), "--styles", str(painting), "--sizes", "32", "--save-pair", str(tmp_path / "pair")]
    assert engine_schedule.main(args) == 2
    assert "--save-pair" in capsys.readouterr().err
