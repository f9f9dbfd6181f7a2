"""Placeholder."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import StyleBot


def setup(client: StyleBot) -> None:
    """Register this part's commands and items."""
