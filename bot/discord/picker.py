"""The style menu under a waiting photo: a persistent select whose custom_id names only whom it was offered to; a
pick paints the picker's own waiting photo in this channel, looked up on the server."""

from __future__ import annotations

import re
from html import escape
from typing import Any

import discord

from jobs.models import Preset

from ..core.i18n import N_, Translator
from ..core.requests import Refused, check_quota, find_preset
from .identity import chat_id, presets_chat, requester_of, translator_of
from .replies import tell
from .requests import InteractionOutlet, can_post, submit
from .services import DiscordServices, services
from .text import markdown

PICK_TEMPLATE = r"sb:preset:(?P<owner>[0-9]{1,20})"
MAX_OPTIONS = 25  # what a Discord select holds

ASK_STYLE = N_("Got your photo! Now send the style picture, or pick a style:")
ASK_STYLE_NO_PRESETS = N_("Got your photo! Now send the picture whose style I should copy.")
PICK_STYLE = N_("Got your photo! Now pick a style:")
NO_PRESETS = N_("There are no styles here yet.")


class PresetSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=PICK_TEMPLATE):
    """Pick a style for the waiting photo of `owner` (a Discord user id)."""

    def __init__(self, owner: int, options: list[discord.SelectOption], placeholder: str = "") -> None:
        super().__init__(
            discord.ui.Select(custom_id=f"sb:preset:{owner}", options=options, placeholder=placeholder or None)
        )
        self.owner = owner

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PresetSelect:
        options = item.options if isinstance(item, discord.ui.Select) else []
        return cls(int(match["owner"]), list(options))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Paint the picker's waiting photo with the style picked."""
        await pick(interaction, self.owner, self.item.values[0] if self.item.values else "")


def picker_view(presets: list[Preset], owner: int, t: Translator) -> discord.ui.View | None:
    """A menu of up to MAX_OPTIONS styles for `owner`'s waiting photo (None: there are none)."""
    if not presets:
        return None
    options = [discord.SelectOption(label=p.name.replace("_", " ")[:100], value=p.name) for p in presets]
    view = discord.ui.View(timeout=None)
    view.add_item(PresetSelect(owner, options[:MAX_OPTIONS], t.gettext("Pick a style")))
    return view


async def offer(
    svc: DiscordServices, t: Translator, owner: int, guild_id: int | None, channel_id: int, *, can_send: bool
) -> tuple[str, discord.ui.View | None]:
    """The text and menu that ask for a waiting photo's style (`can_send`: a style picture may be sent too)."""
    view = picker_view(await svc.presets.list(await presets_chat(svc, guild_id, channel_id)), owner, t)
    if view is None:
        return markdown(t(ASK_STYLE_NO_PRESETS if can_send else NO_PRESETS)), None
    return markdown(t(ASK_STYLE if can_send else PICK_STYLE)), view


async def pick(interaction: discord.Interaction[Any], owner: int, name: str) -> None:
    """A style picked for a waiting photo: only by whom it was offered to, only for their photo in this channel."""
    svc, t = services(interaction), translator_of(interaction)
    if interaction.user.id != owner:
        await tell(interaction, t.gettext("These buttons are for whoever sent the photo. Send your own photo first."))
        return
    user = await requester_of(interaction)
    chat = await chat_id(svc, interaction.channel_id or 0)
    async with svc.lock(chat, user.id):
        pending = await svc.chat_state.get_pending(chat, user.id, svc.tuning.pending_ttl_s)
        if pending is None:
            await tell(interaction, t.gettext("Send me a photo first, then pick a style."))
            return
        try:
            preset = await find_preset(
                svc, name, await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0)
            )
            await check_quota(svc, user.id)
        except Refused as exc:
            await tell(interaction, escape(exc.say(t), quote=False))
            return
        label = markdown(t.gettext("Painting with {style}…", style=escape(preset.name, quote=False)))
        await interaction.response.edit_message(content=label, view=None)
        await svc.chat_state.mark_pending_used(chat, user.id)
        out = InteractionOutlet(svc, interaction, chat, original=False)
        if interaction.guild_id is not None and not can_post(interaction.app_permissions):
            await out.leave_channel()
        elif pending.message_id:
            out.reply_to = pending.message_id
        try:
            await submit(
                svc, out, user=user, content=pending.image_key, styles=(preset.image_key,), style_name=preset.name
            )
        except Refused as exc:
            await out.say(escape(exc.say(t), quote=False))


def setup_picker(client: discord.Client) -> None:
    """The style menu answers after a restart too."""
    client.add_dynamic_items(PresetSelect)
