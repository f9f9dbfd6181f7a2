"""A stand-in for `engine.Stylizer` for the job tests: takes a set time, reports progress, obeys cancel."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from engine.errors import BadImageError, CancelledError
from engine.types import Progress, StylizeResult


class FakeEngine:
    """Sleeps `seconds` in small steps; raises `error` if given; reads the content image like the engine."""

    def __init__(self, seconds: float = 0.0, error: BaseException | None = None) -> None:
        self.seconds = seconds
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def stylize(
        self,
        content: str | Path,
        styles: Sequence[str | Path],
        *,
        iterations: int | None = None,
        progress: Callable[[Progress], None] | None = None,
        progress_every: int = 10,
        cancel: Callable[[], bool] | threading.Event | None = None,
        **options: Any,
    ) -> StylizeResult:
        self.calls.append({"content": content, "styles": list(styles), "iterations": iterations, **options})
        image = _open(content)
        for style in styles:
            _open(style)
        if self.error is not None:
            raise self.error
        total = iterations or 100
        started = time.monotonic()
        for iteration in range(1, total + 1):
            if _cancelled(cancel):
                raise CancelledError("stopped on request")
            time.sleep(self.seconds / total)
            if progress is not None and iteration % progress_every == 0:
                elapsed = time.monotonic() - started
                progress(
                    Progress(
                        iteration, total, 1.0, 2.0, 3.0, elapsed, iteration, 0, 1, image.size, lambda: image.copy()
                    )
                )
        return StylizeResult(
            image=image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            iterations=total,
            evaluations=total,
            seconds=time.monotonic() - started,
            content_loss=1.0,
            style_loss=2.0,
            backend="fake",
            weights="none",
            optimizer="none",
        )


def _open(path: str | Path) -> Image.Image:
    try:
        with Image.open(path) as handle:
            return handle.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise BadImageError("I couldn't open that picture. Please send it as a JPEG or PNG photo.") from exc


def _cancelled(cancel: Callable[[], bool] | threading.Event | None) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else cancel()


def make_engine() -> FakeEngine:
    """The STYLEBOT_ENGINE_FACTORY entry for worker processes (`fake_engine:make_engine`)."""
    return FakeEngine(seconds=float(os.environ.get("FAKE_ENGINE_SECONDS", "0")))
