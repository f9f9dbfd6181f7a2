"""A stand-in for `engine.Stylizer` in the job and bot tests: takes a set time, reports progress, obeys cancel.

Like the real engine it decodes the pictures it is given (bytes), comes back to the host between chunks of
iterations (`options.chunk_seconds`), and flips the photo so a result is a real, different picture.
"""

from __future__ import annotations

import functools
import io
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image, UnidentifiedImageError

from engine.errors import BadImageError, CancelledError
from engine.options import StylizeOptions
from engine.types import CancelCheck, Progress, ProgressCallback, StylizeResult

FAKE_SECONDS_ENV = "FAKE_ENGINE_SECONDS"
FAKE_CHUNK_S = 0.05  # the fake's chunk: short, so tests see progress and cancel quickly
HANG = b"hang"  # a photo that makes the fake engine block, deaf to cancel (a stuck GPU call, say)


class FakeEngine:
    """Takes `seconds` per job; raises `error` if given; records each call's options."""

    def __init__(
        self, seconds: float = 0.0, error: BaseException | None = None, unblock: threading.Event | None = None
    ) -> None:
        self.seconds = seconds
        self.error = error
        self.unblock = unblock or threading.Event()  # what ends a HANG (never set in a worker process)
        self.calls: list[StylizeOptions] = []

    def stylize(
        self,
        content: bytes,
        styles: Sequence[bytes],
        options: StylizeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> StylizeResult:
        options = options or StylizeOptions()
        self.calls.append(options)
        if content == HANG:
            self.unblock.wait()
            raise CancelledError("Cancelled.")
        image = _open(content)
        for style in styles:
            _open(style)
        if self.error is not None:
            raise self.error
        total = options.iterations
        painted = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        started = time.monotonic()
        done = loop_calls = 0
        chunk = max(1, round(total * FAKE_CHUNK_S / self.seconds)) if self.seconds > 0 else total
        while done < total:
            if _cancelled(cancel):
                raise CancelledError("Cancelled.")
            steps = min(chunk, total - done)
            time.sleep(self.seconds * steps / total)
            done += steps
            loop_calls += 1
            if progress is not None:
                elapsed = time.monotonic() - started
                so_far = functools.partial(Image.blend, image, painted, done / total)  # the picture changes as it goes
                progress(Progress(done, total, 1.0, 2.0, 3.0, elapsed, done, 0, 1, image.size, so_far))
        return StylizeResult(
            image=painted,
            iterations=total,
            evaluations=total,
            seconds=time.monotonic() - started,
            content_loss=1.0,
            style_loss=2.0,
            backend="fake",
            weights="none",
            optimizer=options.optimizer,
            extra={"loop_calls": loop_calls},
        )


def _open(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as handle:
            return handle.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise BadImageError("The content image is not an image I can read (use JPEG, PNG or WebP).") from exc


def _cancelled(cancel: Callable[[], bool] | threading.Event | None) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else cancel()


def make_engine(**_: Any) -> FakeEngine:
    """The STYLEBOT_ENGINE_FACTORY entry for worker processes (`tests.support.fake_engine:make_engine`)."""
    return FakeEngine(seconds=float(os.environ.get(FAKE_SECONDS_ENV, "0")))
