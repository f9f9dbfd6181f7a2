"""The slash commands besides /style: /presets, /savestyle, /deletestyle, /settings, /history, /me, /cancel,
/privacy and /forget, with their persistent buttons and selects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import cancel, forget, history, me, preferences, presets, privacy

if TYPE_CHECKING:
    from ..app import StyleBot


def setup(client: StyleBot) -> None:
    """Register every command on client.tree and their buttons and selects with the client."""
    for part in (presets, preferences, history, me, cancel, privacy, forget):
        part.setup(client)
