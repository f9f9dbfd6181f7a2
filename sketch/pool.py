"""A bounded pool of sketching threads for an asyncio bot.

onnxruntime releases the GIL while a network runs, so threads are enough. At most `max_workers` sketches run at
once and at most `max_waiting` more wait; past that `submit` (and `sketch_async`) refuses at once with
`SketchBusy` instead of queueing without bound: a sketch is only worth sending while it is quick.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from PIL import Image

from sketch.stylize import DEFAULT_MAX_SIDE, Picture, Sketcher, check_picture, default_sketcher


class SketchBusy(RuntimeError):
    """The pool already holds as many sketches as it may (running and waiting): try again later, or skip it."""


class SketchPool:
    """Runs `Sketcher.sketch` on a few threads with a bounded number of waiting requests.

    >>> pool = SketchPool(max_workers=1, max_waiting=4)
    >>> image = await pool.sketch_async(photo, painting)   # SketchBusy when full
    >>> pool.shutdown()
    """

    def __init__(self, max_workers: int = 1, max_waiting: int = 4, *, sketcher: Sketcher | None = None) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if max_waiting < 0:
            raise ValueError(f"max_waiting must be 0 or more, got {max_waiting}")
        self.max_workers = max_workers
        self.max_waiting = max_waiting
        self.capacity = max_workers + max_waiting
        self._sketcher = sketcher
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._count_lock = threading.Lock()
        self._in_pool = 0
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sketch")

    @property
    def sketcher(self) -> Sketcher:
        return self._sketcher or default_sketcher()

    @property
    def in_pool(self) -> int:
        """Sketches running or waiting now."""
        with self._count_lock:
            return self._in_pool

    def submit(
        self,
        content: Picture,
        style: Picture,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        strength: float = 1.0,
    ) -> Future[Image.Image]:
        """A future of the sketch; raises SketchBusy at once when the pool is full, ValueError for a bad picture."""
        check_picture(content, "photo")
        check_picture(style, "style")
        if not self._slots.acquire(blocking=False):
            raise SketchBusy(
                f"the sketch pool is full ({self.max_workers} running, {self.max_waiting} waiting); try again later"
            )
        with self._count_lock:
            self._in_pool += 1
        try:
            future = self._executor.submit(
                self.sketcher.sketch, content, style, max_side=max_side, strength=strength
            )
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _: Future[Image.Image] | None) -> None:
        with self._count_lock:
            self._in_pool -= 1
        self._slots.release()

    async def sketch_async(
        self,
        content: Picture,
        style: Picture,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        strength: float = 1.0,
    ) -> Image.Image:
        """The sketch, painted on the pool's threads while the event loop goes on. Raises SketchBusy at once when
        the pool is full; cancelling the awaiting task drops a request that has not started yet."""
        future = self.submit(content, style, max_side=max_side, strength=strength)
        return await asyncio.wrap_future(future)

    def warm_up(self) -> None:
        """Load the networks now (a few hundred milliseconds) rather than on the first request."""
        _ = self.sketcher.model

    def shutdown(self, wait: bool = True) -> None:
        """Stop the threads; waiting requests are cancelled, running ones finish when `wait`."""
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> SketchPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
