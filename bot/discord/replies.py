"""Answering an interaction: within Discord's 3 s, privately when it is an error."""

from __future__ import annotations

from typing import Any

import discord

from .text import markdown


async def tell(interaction: discord.Interaction[Any], text: str, *, ephemeral: bool = True, **kwargs: Any) -> None:
    """Answer with `text` (the core's HTML, sent as markdown): the response if it is still open, else a follow-up;
    only the user sees it unless `ephemeral` is False."""
    content = markdown(text)
    if interaction.response.is_done():
        await interaction.followup.send(content, ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)
