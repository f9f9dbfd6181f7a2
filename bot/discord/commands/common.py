"""Answers longer than one Discord message."""

from __future__ import annotations

from typing import Any

import discord

from ..replies import tell
from ..text import MAX_CONTENT, markdown


def pieces(text: str, size: int = MAX_CONTENT) -> list[str]:
    """The text in messages Discord takes, cut at line ends where it can."""
    out: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > 0 else size
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*out, text]


async def tell_lines(
    interaction: discord.Interaction[Any], lines: list[str], *, ephemeral: bool = True, **kwargs: Any
) -> None:
    """`tell` the lines (the core's HTML), in as many messages as they take; `kwargs` (files, a view) go with the
    first."""
    chunks: list[list[str]] = [[]]
    for line in lines:
        if chunks[-1] and len(markdown("\n".join([*chunks[-1], line]))) >= MAX_CONTENT:
            chunks.append([])
        chunks[-1].append(line)
    for n, chunk in enumerate(chunks):
        await tell(interaction, "\n".join(chunk), ephemeral=ephemeral, **(kwargs if n == 0 else {}))
