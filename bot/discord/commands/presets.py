"""/presets (the styles here, with thumbnails), /savestyle (a picture kept as this server's or this DM's style) and
/deletestyle (Manage Server, or whoever added it)."""

from __future__ import annotations

import asyncio
import io
import logging
import mimetypes
from html import escape
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from jobs.models import LimitKind, LimitReached, Preset

from ...core.i18n import N_, Translator
from ...core.images import BadImage, Checked, check_image, thumbnail_bytes
from ...core.limits import ImageRef, image_refusal, limit_refusal
from ...core.parsing import NAME_RULES, validate_preset_name
from ...core.presets import CREDITS
from ...core.requests import Refused
from ..identity import presets_chat, translator_of
from ..locale import described, pgettext
from ..replies import tell
from ..services import DiscordServices, services
from .common import tell_lines

if TYPE_CHECKING:
    from ..app import StyleBot

log = logging.getLogger(__name__)

THUMBNAILS = 10  # attachments in one Discord message
AUTOCOMPLETE_CHOICES = 25  # Discord's most


def _label(preset: Preset, t: Translator) -> str:
    if preset.chat_id is not None:
        return t.gettext("{name} (this chat)", name=escape(preset.name, quote=False))
    credit = CREDITS.get(preset.name) if preset.added_by == 0 else None  # a built-in one, not an admin's
    return escape(f"{preset.name} — {credit}" if credit else preset.name, quote=False)


async def _thumbnail(svc: DiscordServices, preset: Preset) -> discord.File | None:
    data = await svc.read_picture(preset.image_key)
    try:
        thumb = await svc.decodes.run(thumbnail_bytes, data) if data is not None else None
    except Exception:  # a broken preset picture must not break /presets for everyone
        log.warning("preset image %s can't be read", preset.image_key)
        return None
    return discord.File(io.BytesIO(thumb), filename=f"{preset.name}.jpg") if thumb is not None else None


@app_commands.command(name=pgettext("discord command", "presets"), description=described("The styles you can use"))
async def presets_command(interaction: discord.Interaction[Any]) -> None:
    """/presets: every style this server (or this DM) can use, with thumbnails of the first ones."""
    svc, t = services(interaction), translator_of(interaction)
    await interaction.response.defer(thinking=True)
    presets = await svc.presets.list(await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0))
    if not presets:
        await tell(interaction, t.gettext("There are no styles yet. Add one with /savestyle."), ephemeral=False)
        return
    files = [f for f in await asyncio.gather(*(_thumbnail(svc, p) for p in presets[:THUMBNAILS])) if f is not None]
    lines = [t.gettext("<b>Styles you can use</b>"), *(f"• {_label(p, t)}" for p in presets)]
    lines.append(t.gettext("Paint a photo with one: /style, with your photo and the style's name."))
    await tell_lines(interaction, lines, ephemeral=False, files=files)


def attachment_ref(picture: discord.Attachment) -> ImageRef:
    """An attachment as the core's checks know a picture."""
    mime = (picture.content_type or mimetypes.guess_type(picture.filename)[0] or "").split(";")[0].strip()
    return ImageRef(picture.url, str(picture.id), picture.size, mime or None, "document", 0)


async def download(picture: discord.Attachment, svc: DiscordServices) -> Checked:
    """The attachment's bytes from Discord's CDN, checked (decoded once, through the gate)."""
    try:
        data = await picture.read()
    except discord.HTTPException as exc:
        log.info("attachment %s could not be read: %s", picture.id, exc)
        raise Refused(N_("I couldn't download that picture from Discord; please try again.")) from exc
    try:
        return await svc.decodes.run(check_image, data)
    except BadImage as exc:
        raise Refused(exc.text) from exc


def may_manage(interaction: discord.Interaction[Any], preset: Preset, user: int) -> bool:
    """A server's style: whoever added it, or a member with Manage Server; a DM's: its user."""
    return interaction.guild_id is None or preset.added_by == user or interaction.permissions.manage_guild


async def _check_name(
    svc: DiscordServices, interaction: discord.Interaction[Any], name: str, chat: int, user: int
) -> None:
    """Refused unless the user may save a style of this name here (a global one's name is taken; replacing one of
    this server's needs may_manage; a new one must fit the limit, counted again where it is inserted)."""
    existing = await svc.presets.get(name, chat)
    if existing is not None and existing.chat_id is None:
        raise Refused(N_("“{name}” is one of the bot's own styles. Pick another name.", name=name))
    if existing is not None:
        if not may_manage(interaction, existing, user):
            raise Refused(
                N_(
                    "Only whoever added the style “{name}” or a member who can manage this server can change it. "
                    "Pick another name.",
                    name=name,
                )
            )
        return
    count, limit = await svc.presets.count(chat), svc.settings.max_presets_per_chat
    if count >= limit:
        raise Refused(limit_refusal(LimitReached(LimitKind.PRESETS, count, limit)))


@app_commands.command(
    name=pgettext("discord command", "savestyle"),
    description=described(N_("Keep a picture as a style for this server")),
)
@app_commands.rename(picture=pgettext("discord command", "picture"), name=pgettext("discord command", "name"))
@app_commands.describe(
    picture=described(N_("The picture whose style to keep")),
    name=described(N_("The style's name: letters, digits, - and _")),
)
async def savestyle_command(interaction: discord.Interaction[Any], picture: discord.Attachment, name: str) -> None:
    """/savestyle: keep the picture as a style of this server (in a DM: the user's own)."""
    svc, t = services(interaction), translator_of(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    user = await svc.stored(interaction.user.id)
    chat = await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0)
    try:
        key = validate_preset_name(name)
        if key is None:
            raise Refused(NAME_RULES)
        await _check_name(svc, interaction, key, chat, user)
        ref = attachment_ref(picture)
        refusal = image_refusal(ref)
        if refusal:
            raise Refused(refusal)
        checked = await download(picture, svc)
        limit = svc.settings.max_presets_per_chat
        await svc.presets.add(key, checked.data, ref.suffix, chat_id=chat, added_by=user, max_per_chat=limit)
    except LimitReached as exc:
        await tell(interaction, escape(t(limit_refusal(exc)), quote=False))
        return
    except Refused as exc:
        await tell(interaction, escape(exc.say(t), quote=False))
        return
    shown = escape(key, quote=False)
    if interaction.guild_id is None:
        saved = t.gettext("Saved the style “{name}” for you. Try it: /style {name}", name=shown)
    else:
        saved = t.gettext("Saved the style “{name}” for this server. Try it: /style {name}", name=shown)
    await tell(interaction, saved)


@app_commands.command(
    name=pgettext("discord command", "deletestyle"), description=described("Delete one of this chat's styles")
)
@app_commands.rename(name=pgettext("discord command", "name"))
@app_commands.describe(name=described(N_("The style to delete")))
async def deletestyle_command(interaction: discord.Interaction[Any], name: str) -> None:
    """/deletestyle: delete one of this server's styles (whoever added it, or Manage Server)."""
    svc, t = services(interaction), translator_of(interaction)
    chat = await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0)
    key = validate_preset_name(name)
    preset = await svc.presets.get(key, chat) if key else None
    shown = escape(key or name, quote=False)
    if key is None:
        await tell(interaction, t.gettext("Which one? /deletestyle &lt;name&gt; — /presets lists this chat's styles."))
    elif preset is None or preset.chat_id != chat:
        await tell(interaction, t.gettext("This chat has no style of its own called “{name}”.", name=shown))
    elif not may_manage(interaction, preset, await svc.stored(interaction.user.id)):
        await tell(
            interaction,
            t.gettext(
                "Only whoever added the style “{name}” or a member who can manage this server can delete it.",
                name=shown,
            ),
        )
    elif await svc.presets.delete(key, chat):
        await tell(interaction, t.gettext("Deleted the style “{name}”.", name=shown))
    else:
        await tell(interaction, t.gettext("This chat has no style of its own called “{name}”.", name=shown))


@deletestyle_command.autocomplete("name")
async def own_styles(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """This server's (or DM's) own styles whose name contains what was typed."""
    svc = services(interaction)
    chat = await presets_chat(svc, interaction.guild_id, interaction.channel_id or 0)
    typed = current.strip().lower()
    names = [p.name for p in await svc.presets.list(chat) if p.chat_id == chat and typed in p.name]
    return [app_commands.Choice(name=n, value=n) for n in names[:AUTOCOMPLETE_CHOICES]]


def setup(client: StyleBot) -> None:
    """Register /presets, /savestyle and /deletestyle."""
    client.tree.add_command(presets_command)
    client.tree.add_command(savestyle_command)
    client.tree.add_command(deletestyle_command)
