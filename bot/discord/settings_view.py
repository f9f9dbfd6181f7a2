"""The /settings controls: a select each for strength, size, strokes and quality, and buttons that toggle keep
colours and sketch only (a message holds five rows). Each custom_id carries the owner's stored id and the field;
a pick is checked against the owner and the values /settings offers before anything is saved."""

from __future__ import annotations

import re
from typing import Any, cast

import discord

from jobs.models import QUALITIES, Preferences
from settings import Settings

from ..core.captions import STROKE_NAMES, colours_label, quality_name, settings_text, sketch_only_label
from ..core.i18n import Translator
from ..core.params import STRENGTHS, STROKE_CHOICES, format_factor, size_choices, user_size
from .identity import translator_of
from .replies import tell
from .services import services
from .text import markdown

SELECT_TEMPLATE = r"sb:set:(?P<owner>[0-9]{1,20}):(?P<field>[a-z]{1,12})"
TOGGLE_TEMPLATE = r"sb:set:(?P<owner>[0-9]{1,20}):(?P<field>[a-z]{1,12}):(?P<value>[a-z0-9.]{1,12})"
STRENGTH, SIZE, STROKES, QUALITY, COLOURS, SKETCH = "strength", "size", "strokes", "quality", "colors", "sketch"
ON, OFF = "1", "0"


def choices(field: str, settings: Settings) -> dict[str, dict[str, object]]:
    """The values /settings offers for a field (as they travel in a select or custom_id), each with the change
    it makes to the preferences; {} for a field it does not offer."""
    if field == STRENGTH:
        return {str(s): {"strength": s} for s in STRENGTHS}
    if field == SIZE:
        return {str(s): {"max_side": s} for s in size_choices(settings)}
    if field == STROKES:
        return {name: {"style_scale": scale} for name, scale in STROKE_CHOICES.items()}
    if field == QUALITY:
        return {q: {"quality": q} for q in QUALITIES}
    if field == COLOURS:
        return {ON: {"preserve_colors": True}, OFF: {"preserve_colors": False}}
    if field == SKETCH and settings.sketch:
        return {ON: {"sketch_only": True}, OFF: {"sketch_only": False}}
    return {}


def _select(owner: int, field: str, options: list[discord.SelectOption]) -> discord.ui.Select[Any]:
    return discord.ui.Select(custom_id=f"sb:set:{owner}:{field}", options=options)


def settings_view(owner: int, user: Preferences, settings: Settings, t: Translator) -> discord.ui.View:
    """The controls under the /settings text, the current values chosen."""
    size = user_size(user, settings)
    selects = [
        _select(owner, STRENGTH, [
            discord.SelectOption(
                label=t.gettext("strength {strength}", strength=format_factor(s)), value=str(s),
                default=s == user.strength,
            )
            for s in STRENGTHS
        ]),
        _select(owner, SIZE, [
            discord.SelectOption(label=t.gettext("{size} px", size=s), value=str(s), default=s == size)
            for s in size_choices(settings)
        ]),
        _select(owner, STROKES, [
            discord.SelectOption(
                label=f"🖌 {t(STROKE_NAMES[name])}", value=name, default=abs(scale - user.style_scale) < 1e-9
            )
            for name, scale in STROKE_CHOICES.items()
        ]),
        _select(owner, QUALITY, [
            discord.SelectOption(
                label=t.gettext("quality {quality}", quality=quality_name(q, t)), value=q, default=q == user.quality
            )
            for q in QUALITIES
        ]),
    ]
    view = discord.ui.View(timeout=None)
    for select in selects:
        view.add_item(SettingSelect(select))
    colours = OFF if user.preserve_colors else ON
    view.add_item(SettingToggle(owner, COLOURS, colours, colours_label(user.preserve_colors, t)))
    if settings.sketch:
        sketch = OFF if user.sketch_only else ON
        view.add_item(SettingToggle(owner, SKETCH, sketch, sketch_only_label(user.sketch_only, t)))
    return view


async def apply(interaction: discord.Interaction[Any], owner: int, field: str, value: str) -> None:
    """Save one pick of the owner's and redraw their settings; anyone else's or a value not offered is refused."""
    svc, t = services(interaction), translator_of(interaction)
    if owner != await svc.stored(interaction.user.id):
        await tell(interaction, t.gettext("These are someone else's settings. Send /settings for yours."))
        return
    change = choices(field, svc.settings).get(value)
    if change is None:
        await tell(interaction, t.gettext("That button is out of date. Send /settings again."))
        return
    updated = await svc.preferences.update(owner, **change)
    await interaction.response.edit_message(
        content=markdown(settings_text(updated, svc.settings, t)), view=settings_view(owner, updated, svc.settings, t)
    )


class SettingSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=SELECT_TEMPLATE):
    """A /settings select: strength, size, strokes or quality."""

    def __init__(self, select: discord.ui.Select[Any]) -> None:
        super().__init__(select)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SettingSelect:
        return cls(discord.ui.Select(custom_id=match.string))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        match = re.fullmatch(SELECT_TEMPLATE, self.item.custom_id)
        assert match is not None
        data = cast(dict[str, Any], interaction.data or {})
        values = data.get("values") or [""]
        await apply(interaction, int(match["owner"]), match["field"], str(values[0]))


class SettingToggle(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TOGGLE_TEMPLATE):
    """A /settings button that switches keep colours or sketch only to the value in its custom_id."""

    def __init__(self, owner: int, field: str, value: str, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or field, style=discord.ButtonStyle.secondary, custom_id=f"sb:set:{owner}:{field}:{value}"
            )
        )
        self.owner, self.field, self.value = owner, field, value

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SettingToggle:
        return cls(int(match["owner"]), match["field"], match["value"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await apply(interaction, self.owner, self.field, self.value)
