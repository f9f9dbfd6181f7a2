"""What the delivery's parts share: the bot, the services, the stop signal, the call log, the queue mirror and
what each status message shows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from telegram import Bot

from ...core.delivery.pacing import CallLog
from ...core.delivery.queue_mirror import QueueMirror
from ...core.delivery.stats import DeliveryStats
from ...core.delivery.status_messages import StatusMessages
from ...core.services import Services


@dataclass(frozen=True)
class Shared:
    bot: Bot
    svc: Services
    stats: DeliveryStats
    stopping: asyncio.Event
    calls: CallLog
    mirror: QueueMirror
    messages: StatusMessages


class Part:
    """A part of the delivery loop (the results, the status edits), with the shared pieces at `self._shared`."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
