"""The Discord delivery loop (placeholder until the results side is written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import StyleBot


class Delivery:
    def __init__(self, client: StyleBot) -> None:
        self.client = client

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
