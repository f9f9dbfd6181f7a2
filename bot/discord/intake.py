"""Every way of asking for a painting on Discord: /style, the "Stylize" message command, pictures sent in DMs and
mentions of the bot in a server (the only server messages it can read without the Message Content intent)."""

from __future__ import annotations

import logging
import re
from html import escape
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from ..core.i18n import N_, translator
from ..core.identity import Requester
from ..core.images import NOT_A_PICTURE
from ..core.limits import image_refusal
from ..core.parsing import preset_key
from ..core.requests import Refused, check_quota, find_preset
from .identity import chat_id, presets_chat, requester, requester_of, translator_of
from .locale import COMMAND, described, pgettext
from .picker import offer, setup_picker
from .pictures import fetch, image_ref, pictures
from .replies import tell
from .requests import NO_DM, InteractionOutlet, Outlet, can_post, message_outlet, submit
from .services import DiscordServices, services

if TYPE_CHECKING:
    from .app import StyleBot

log = logging.getLogger(__name__)

BOTH_GIVEN = N_("Give either a style picture or a style name, not both.")
NO_PICTURE_THERE = N_("That message has no picture for me to paint.")
DM_HINT = N_(
    "Send me a photo, then the picture whose style I should copy; or a photo with a style's name as its text "
    "(e.g. “mosaic”). /style works here too."
)
MENTION_HINT = N_(
    "Mention me on a message with a photo and a style's name (e.g. “@StyleBot mosaic”), or in a reply to a photo. "
    "/style and the message command Apps ▸ Stylize work too."
)
MAX_CHOICES = 25  # autocomplete choices Discord shows


# ----- /style and Apps ▸ Stylize --------------------------------------------------------------------------------


@app_commands.describe(
    photo=described(N_("The photo to paint")),
    style=described(N_("A picture whose style I should copy")),
    preset=described(N_("The name of a saved style")),
)
@app_commands.rename(
    photo=pgettext(COMMAND, "photo"), style=pgettext(COMMAND, "style"), preset=pgettext(COMMAND, "preset")
)
async def style_command(
    interaction: discord.Interaction[Any],
    photo: discord.Attachment,
    style: discord.Attachment | None = None,
    preset: str | None = None,
) -> None:
    """/style: paint the photo in the style picture's style, or a saved style's (neither: pick one)."""
    await request(interaction, photo, style, preset, source_id=0)


async def preset_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """The styles of this chat (and the global ones) whose names contain what was typed."""
    svc = services(interaction)
    presets = await svc.presets.list(await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0))
    typed = preset_key(current)
    names = [p.name for p in presets if typed in p.name]
    names.sort(key=lambda name: not name.startswith(typed))
    return [app_commands.Choice(name=n.replace("_", " ")[:100], value=n) for n in names[:MAX_CHOICES]]


async def stylize(interaction: discord.Interaction[Any], message: discord.Message) -> None:
    """Apps ▸ Stylize on a message: its first picture painted in its second's style (one: pick a style)."""
    found = pictures(message.attachments)
    if not found:
        t = translator_of(interaction)
        refusal = image_refusal(image_ref(message.attachments[0])) if message.attachments else None
        await tell(interaction, escape(t(refusal or NO_PICTURE_THERE), quote=False))
        return
    await request(interaction, found[0], found[1] if len(found) > 1 else None, None, source_id=message.id)


async def request(
    interaction: discord.Interaction[Any],
    photo: discord.Attachment,
    style: discord.Attachment | None,
    preset_name: str | None,
    *,
    source_id: int,
) -> None:
    """Check what is cheap to check and answer an error at once; then defer (public: the answer becomes the status
    message) and fetch, store and paint; with no style, keep the photo waiting and offer the styles privately."""
    svc, t = services(interaction), translator_of(interaction)
    if style is not None and preset_name:
        await tell(interaction, t(BOTH_GIVEN))
        return
    for attachment in (photo, style):
        refusal = image_refusal(image_ref(attachment)) if attachment is not None else None
        if refusal is not None:
            await tell(interaction, escape(t(refusal), quote=False))
            return
    user = await requester_of(interaction)
    channel_id = interaction.channel_id or 0
    chat = await chat_id(svc, channel_id)
    try:
        preset = (
            await find_preset(svc, preset_name, await presets_chat(svc, interaction.guild_id, channel_id))
            if preset_name
            else None
        )
        await check_quota(svc, user.id)
    except Refused as exc:
        await tell(interaction, escape(exc.say(t), quote=False))
        return
    waiting = style is None and preset is None
    posting = interaction.guild_id is None or can_post(interaction.app_permissions)
    await interaction.response.defer(ephemeral=waiting or not posting, thinking=True)
    out = InteractionOutlet(svc, interaction, chat, original=True)
    async with svc.lock(chat, user.id):
        try:
            if waiting:
                content = await fetch(svc, user.id, photo, source_id)
                await svc.chat_state.set_pending(chat, user.id, content, source_id)
                text, view = await offer(svc, t, interaction.user.id, interaction.guild_id, channel_id, can_send=False)
                await interaction.followup.send(text, ephemeral=True, view=view or discord.utils.MISSING)
                return
            if posting:
                out.thinking = True
            else:
                await out.leave_channel()
            content = await fetch(svc, user.id, photo, source_id)
            if preset is not None:
                styles, style_name = (preset.image_key,), preset.name
            else:
                assert style is not None
                styles, style_name = (await fetch(svc, user.id, style, source_id),), ""
            await submit(svc, out, user=user, content=content, styles=styles, style_name=style_name)
        except Refused as exc:
            await out.say(escape(exc.say(t), quote=False))
        except discord.Forbidden:
            await out.say(t(NO_DM))


# ----- DMs and mentions ----------------------------------------------------------------------------------------


async def on_message(client: StyleBot, message: discord.Message) -> None:
    """A DM with pictures or a style's name, or a message in a server that mentions the bot."""
    me = client.user
    if me is None or message.author.bot or message.author.id == me.id:
        return
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return
    if message.guild is not None and not any(u.id == me.id for u in message.mentions):
        return  # without the Message Content intent it is empty anyway
    text = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
    try:
        await from_message(client.svc, message, text)
    except discord.Forbidden:
        log.info(
            "could not answer message %s: neither its channel nor the user's DMs take the bot's messages", message.id
        )


async def from_message(svc: DiscordServices, message: discord.Message, text: str) -> None:
    """Paint what the message (and the message it replies to) holds; else keep its photo waiting, or explain."""
    private = message.guild is None
    user = await requester(svc, message.author)
    out = await message_outlet(svc, message)
    t = translator(user.language)
    referenced = await referenced_pictures(message)
    found = referenced + pictures(message.attachments)
    async with svc.lock(out.chat_id, user.id):
        try:
            if message.attachments and not found:
                raise Refused(image_refusal(image_ref(message.attachments[0])) or NOT_A_PICTURE)
            if found:
                await _with_pictures(svc, out, user, message, text, found, fresh=private and not referenced)
            elif text:
                await _named(svc, out, user, message, text)
            else:
                await out.say(t(DM_HINT if private else MENTION_HINT))
        except Refused as exc:
            await out.say(escape(exc.say(t), quote=False))


async def _with_pictures(
    svc: DiscordServices,
    out: Outlet,
    user: Requester,
    message: discord.Message,
    text: str,
    found: list[discord.Attachment],
    *,
    fresh: bool,
) -> None:
    """Two pictures paint; one with a style's name paints; one alone is the style of a photo waiting in a DM
    (`fresh`), or else waits for its style."""
    first, source = found[0], message.id
    if len(found) >= 2:
        content = await fetch(svc, user.id, first, source)
        style = await fetch(svc, user.id, found[1], source)
        await submit(svc, out, user=user, content=content, styles=(style,), style_name="", request_message_id=source)
        return
    if text:
        preset = await find_preset(svc, text, await presets_chat(svc, _guild_id(message), message.channel.id))
        content = await fetch(svc, user.id, first, source)
        await submit(
            svc,
            out,
            user=user,
            content=content,
            styles=(preset.image_key,),
            style_name=preset.name,
            request_message_id=source,
        )
        await svc.chat_state.set_pending(out.chat_id, user.id, content, source)
        await svc.chat_state.mark_pending_used(out.chat_id, user.id)
        return
    pending = await svc.chat_state.get_pending(out.chat_id, user.id, svc.tuning.pending_ttl_s) if fresh else None
    if pending is not None and not pending.used:
        style = await fetch(svc, user.id, first, source)
        await submit(
            svc, out, user=user, content=pending.image_key, styles=(style,), style_name="", request_message_id=source
        )
        await svc.chat_state.clear_pending(out.chat_id, user.id)
        return
    content = await fetch(svc, user.id, first, source)
    await svc.chat_state.set_pending(out.chat_id, user.id, content, source if not out.moved else 0)
    ask, view = await offer(
        svc,
        out.t,
        message.author.id,
        None if out.moved else _guild_id(message),
        out.channel_id,
        can_send=out.chat_type == "private",
    )
    await out.send(ask, view=view)


async def _named(svc: DiscordServices, out: Outlet, user: Requester, message: discord.Message, text: str) -> None:
    """A style's name alone: paints the user's waiting photo in this chat."""
    pending = await svc.chat_state.get_pending(out.chat_id, user.id, svc.tuning.pending_ttl_s)
    if pending is None:
        await out.say(out.t(DM_HINT if message.guild is None else MENTION_HINT))
        return
    preset = await find_preset(svc, text, await presets_chat(svc, _guild_id(message), message.channel.id))
    await check_quota(svc, user.id)
    await svc.chat_state.mark_pending_used(out.chat_id, user.id)
    await submit(
        svc,
        out,
        user=user,
        content=pending.image_key,
        styles=(preset.image_key,),
        style_name=preset.name,
        request_message_id=message.id,
    )


async def referenced_pictures(message: discord.Message) -> list[discord.Attachment]:
    """The pictures of the message this one replies to (fetched when the event did not carry them)."""
    ref = message.reference
    if ref is None or ref.message_id is None:
        return []
    target = ref.resolved if isinstance(ref.resolved, discord.Message) else None
    if target is None or not pictures(target.attachments):
        try:
            target = await message.channel.fetch_message(ref.message_id)
        except discord.HTTPException:
            log.info("could not read message %s, which message %s replies to", ref.message_id, message.id)
    return pictures(target.attachments) if target is not None else []


def _guild_id(message: discord.Message) -> int | None:
    return message.guild.id if message.guild is not None else None


def setup(client: StyleBot) -> None:
    """/style (with its preset autocomplete), Apps ▸ Stylize and the style menu."""
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=pgettext(COMMAND, "style"),
        description=described(N_("Paint a photo in the style of another picture, or of a saved style")),
        callback=style_command,
    )
    command.autocomplete("preset")(preset_choices)
    client.tree.add_command(command)
    client.tree.add_command(app_commands.ContextMenu(name=pgettext(COMMAND, "Stylize"), callback=stylize))
    setup_picker(client)
