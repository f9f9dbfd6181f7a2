"""The buttons under a result (persistent: they answer after a restart too) and the Other style select; what each
does is in bot.discord.results."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

import discord

from jobs import keys
from jobs.models import JobStatus, Preset

from ..core.i18n import Translator, translator
from ..core.params import AGAIN, BIGGER, COLOURS, SMALLER, STRONGER, WEAKER
from ..core.services import Services
from .identity import PRIVATE

if TYPE_CHECKING:
    from .app import StyleBot

RESULT_PREFIX = "sb:r:"  # sb:r:<action>:<job_id>
STYLE_PREFIX = "sb:rs:"  # sb:rs:<job_id>:<result message id>: the Other style select
OTHER_STYLE, FILE, TIMELAPSE, PRIVATELY, DELETE = "style", "file", "gif", "dm", "del"
MAX_STYLE_OPTIONS = 25  # what a Discord select holds


def result_custom_id(action: str, job_id: int) -> str:
    return f"{RESULT_PREFIX}{action}:{job_id}"


class ResultButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"sb:r:(?P<rest>.{0,94})"):
    """A button under a result; its custom_id is untrusted: bot.discord.results checks the job on the server."""

    def __init__(
        self,
        rest: str,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label or "…", style=style, custom_id=f"{RESULT_PREFIX}{rest}", row=row)
        )
        self.rest = rest

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ResultButton:
        return cls(match["rest"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        from .results import on_result_button

        action, _, job_id = self.rest.partition(":")
        await on_result_button(interaction, action, job_id)


class StyleSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"sb:rs:(?P<rest>.{0,93})"):
    """The ephemeral list of styles Other style opens; checked again on the server when a style is picked."""

    def __init__(self, rest: str, options: list[discord.SelectOption] | None = None, placeholder: str = "") -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"{STYLE_PREFIX}{rest}",
                options=options or [discord.SelectOption(label="…")],
                placeholder=placeholder or None,
            )
        )
        self.rest = rest

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StyleSelect:
        return cls(match["rest"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        from .results import on_style_picked

        job_id, _, message_id = self.rest.partition(":")
        await on_style_picked(interaction, job_id, message_id, list(self.item.values))


def result_view(job: JobStatus, *, has_timelapse: bool) -> discord.ui.View:
    """The buttons under a finished picture, in the requester's language (Telegram's labels), at most five a row:
    the changes, then the ways to get it (and in a server: Send to me privately, Delete)."""
    t = translator(job.language)
    view = discord.ui.View(timeout=None)

    def add(label: str, action: str, row: int, style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
        view.add_item(ResultButton(f"{action}:{job.id}", label, style, row))

    add(t.gettext("➕ Stronger"), STRONGER, 0)
    add(t.gettext("➖ Weaker"), WEAKER, 0)
    add(t.gettext("🖌 Bigger strokes"), BIGGER, 0)
    add(t.gettext("✏ Smaller strokes"), SMALLER, 0)
    add(t.gettext("🎨 New colours") if job.params.preserve_colors else t.gettext("🎨 Keep colours"), COLOURS, 1)
    add(t.gettext("🎲 Another version"), AGAIN, 1)
    add(t.gettext("🖼 Other style"), OTHER_STYLE, 1)
    if has_timelapse:
        add(t.gettext("🎞 Time-lapse"), TIMELAPSE, 1)
    add(t.gettext("📄 Full-size file"), FILE, 2)
    if job.chat_type != PRIVATE:
        add(t.gettext("📩 Send to me privately"), PRIVATELY, 2)
        add(t.gettext("✖ Delete"), DELETE, 2, discord.ButtonStyle.danger)
    return view


def style_view(job_id: int, message_id: int, presets: list[Preset], t: Translator) -> discord.ui.View:
    """The select of the chat's styles (the first MAX_STYLE_OPTIONS) for Other style."""
    options = [
        discord.SelectOption(label=p.name.replace("_", " ")[:100], value=p.name[:100])
        for p in presets[:MAX_STYLE_OPTIONS]
    ]
    view = discord.ui.View(timeout=None)
    view.add_item(StyleSelect(f"{job_id}:{message_id}", options, t.gettext("Pick another style for this photo:")))
    return view


def setup(client: StyleBot) -> None:
    """The result buttons and the style select answer after a restart too."""
    client.add_dynamic_items(ResultButton, StyleSelect)


async def offers_timelapse(svc: Services, job: JobStatus) -> bool:
    """Whether the job has a time-lapse to offer (the worker stores one only when the painting ran long enough for
    a few frames, and storing it may fail, so the storage is what knows)."""
    return await asyncio.to_thread(svc.storage.exists, keys.timelapse_key(job.user_id, job.id))
