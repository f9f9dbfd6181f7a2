"""`stylebot stylize` takes a built-in preset's name where it takes a painting's file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.support.pictures import content_photo

ROOT = Path(__file__).resolve().parents[1]


def stylize(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "stylebot.cli", "stylize", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )


def test_a_builtin_preset_name_paints_and_an_unknown_name_is_one_line(tmp_path: Path) -> None:
    photo, out = tmp_path / "photo.jpg", tmp_path / "painted.png"
    content_photo((48, 32)).save(photo)
    proc = stylize(str(photo), "starry", "-o", str(out), "--weights", "random", "--size", "48", "--iterations", "2",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["iterations"] == 2
    assert Image.open(out).size == (48, 32)

    missing = stylize(str(photo), "starry_nite", "-o", str(tmp_path / "no.png"), "--weights", "random")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert [line for line in missing.stderr.splitlines() if line.startswith("error:")]
    assert not (tmp_path / "no.png").exists()
