"""What every chat front end does when it starts: open the stores, register the deployment's presets, start the
retention sweep and the instant sketches. Each `close` of `svc.closers` undoes one step."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from jobs.bot_stores import open_bot_stores
from jobs.retention import prune_forever

from .presets.sync import sync_builtin_presets, sync_preset_dir
from .services import Services
from .sketches import Sketches

log = logging.getLogger(__name__)


async def start_services(svc: Services, *, retention: bool = True) -> None:
    """Open the stores, sync the presets, start the retention sweep (unless another front end of this process runs
    it) and the sketches (STYLEBOT_SKETCH)."""
    svc.stores = await open_bot_stores(svc.settings)
    svc.closers.append(svc.stores.close)
    if retention:
        svc.closers.append(_start_retention(svc))
    if added := await sync_builtin_presets(svc):
        log.info("registered %d built-in preset(s)", added)
    if added := await sync_preset_dir(svc):
        log.info("registered %d preset(s) from %s", added, svc.settings.presets_dir)
    if svc.settings.sketch:
        svc.sketches = Sketches(svc.decodes, waiting=svc.jobs.count_waiting)
        svc.closers.append(svc.sketches.close)


async def close_services(svc: Services) -> None:
    """Close what start_services (and the front end) opened, last first."""
    while svc.closers:
        closer = svc.closers.pop()
        try:
            await closer()
        except Exception:
            log.exception("closing %s failed", closer)


def _start_retention(svc: Services) -> Callable[[], Coroutine[Any, Any, None]]:
    """Run the retention sweep every few hours; returns the closer that stops it."""
    assert svc.stores is not None
    stop = asyncio.Event()
    task = asyncio.create_task(
        prune_forever(svc.stores.database, svc.stores.storage, svc.settings, stop), name="stylebot-retention"
    )

    async def close() -> None:
        stop.set()
        await task

    return close
