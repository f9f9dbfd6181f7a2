"""The instant sketch: as soon as a request is accepted, a quick picture of the photo in the chosen style.

It is painted by `sketch` (one pass of a pretrained feed-forward network, well under a second on a CPU) in a
small bounded pool in the bot process, never in the Gatys queue, so a long queue does not delay it. It is a
nicety: when the pool is full, or anything goes wrong, no sketch is sent and the painting comes as usual.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable

from PIL import Image

from imaging import decode
from sketch import SketchBusy, SketchPool

from .images import SKETCH_SIDE, DecodeGate

log = logging.getLogger(__name__)

SKETCH_THREADS = 1  # sketches painted at once (each uses onnxruntime's two threads)
SKETCH_WAITING = 64  # sketches that may wait for a thread (a burst of users); beyond that a request gets none
JPEG_QUALITY = 88
# A request's job is queued once its sketch is sent, or after this long: the sketch is the first picture a user sees
# even when a painter is free at once, and a slow sketch never holds the painting up for long.
HEAD_START_S = 1.5
# ... or this long when no job is waiting, so that a painter would start this one at once (the first requests of a
# burst, whose sketches wait behind each other): a painting can't start before its sketch then, and the painter
# waits a sketch's time at most, once.
IDLE_HEAD_START_S = 8.0

Load = Callable[[], Awaitable[tuple[bytes, bytes]]]  # the photo and the painting, at most SKETCH_SIDE a side
Send = Callable[[bytes], Awaitable[object]]  # sends the sketch's JPEG to the chat


class Sketches:
    """Paints sketches in the background and sends each the moment it is ready."""

    def __init__(
        self, gate: DecodeGate, pool: SketchPool | None = None, *, waiting: Callable[[], Awaitable[int]] | None = None
    ) -> None:
        self._gate = gate
        self._pool = pool or SketchPool(max_workers=SKETCH_THREADS, max_waiting=SKETCH_WAITING)
        self._waiting = waiting  # how many jobs wait in the queue (None: always HEAD_START_S)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, load: Load, send: Send, *, request: str) -> None:
        """Load the pictures, paint their sketch and `send` it; return once it is sent, or after its head start (it
        then goes on in the background): HEAD_START_S, or IDLE_HEAD_START_S while no job waits."""
        task = asyncio.create_task(self._sketch_and_send(load, send, request), name=f"sketch-{request}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task}, timeout=await self._head_start())

    async def _head_start(self) -> float:
        if self._waiting is None:
            return HEAD_START_S
        try:
            return HEAD_START_S if await self._waiting() > 0 else IDLE_HEAD_START_S
        except Exception:
            log.warning("could not count the waiting jobs; the sketch gets the short head start", exc_info=True)
            return HEAD_START_S

    async def paint(self, content: bytes, style: bytes) -> bytes:
        """The sketch as JPEG bytes (raises `SketchBusy` when the pool is full)."""
        photo = await self._gate.run(_decoded, content)
        painting = await self._gate.run(_decoded, style)
        image = await self._pool.sketch_async(photo, painting, max_side=SKETCH_SIDE)
        return await asyncio.to_thread(_jpeg, image)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown()

    async def _sketch_and_send(self, load: Load, send: Send, request: str) -> None:
        try:
            jpeg = await self.paint(*await load())
            await send(jpeg)
        except SketchBusy:
            log.info("sketch request=%s skipped: the sketch pool is full", request)
        except Exception:
            log.warning("sketch request=%s failed; the painting comes as usual", request, exc_info=True)


def _decoded(data: bytes) -> Image.Image:
    return decode(data).image  # already at most SKETCH_SIDE a side (bot.core.images.sketch_input_bytes)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
