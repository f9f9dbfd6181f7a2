"""A no-op engine for the queue benchmark's worker processes: records when it was called, returns at once.

Content `SLOW` makes it wait (checking for a stop) until cancelled, for the cancel and SIGKILL measurements.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from engine.errors import CancelledError
from engine.options import StylizeOptions
from engine.types import CancelCheck, ProgressCallback, StylizeResult

LOG_ENV = "STYLEBOT_BENCH_CALLS"  # a folder: each worker process appends "<content> <time>" lines to its own file
SLOW = b"slow"
SLOW_LIMIT_S = 120.0


class NoopEngine:
    def __init__(self) -> None:
        folder = Path(os.environ[LOG_ENV])
        self.log = (folder / f"{os.getpid()}.log").open("a", buffering=1)
        self.image = Image.new("RGB", (1, 1))

    def stylize(
        self,
        content: bytes,
        styles: Sequence[bytes],
        options: StylizeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> StylizeResult:
        called = time.time()
        if content == SLOW:
            deadline = time.monotonic() + SLOW_LIMIT_S
            while time.monotonic() < deadline:
                if callable(cancel) and cancel():
                    raise CancelledError("Cancelled.")
                time.sleep(0.01)
        else:
            self.log.write(f"{content.decode()}\t{called}\n")
        return StylizeResult(self.image, 1, 1, 0.0, 0.0, 0.0, "noop", "none", "none")


def make_engine() -> NoopEngine:
    return NoopEngine()


def called_times(folder: Path) -> dict[str, float]:
    """content → when the engine was called with it, from every worker's file."""
    times: dict[str, float] = {}
    for path in folder.glob("*.log"):
        for line in path.read_text().splitlines():
            content, _, at = line.partition("\t")
            times[content] = float(at)
    return times
