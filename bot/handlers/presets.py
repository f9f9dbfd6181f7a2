"""Presets: /presets with thumbnails, /addpreset (admins), /savestyle, and the preset buttons."""

from __future__ import annotations

import asyncio
import logging
from html import escape
from pathlib import Path

from telegram import Bot, InputMediaPhoto, Message, Update, User
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from jobs.models import Preset

from ..images import BadImage, thumbnail_bytes, validate_image
from ..keyboards import PRESET_PREFIX, preset_keyboard
from ..limits import ImageRef, image_ref
from ..parsing import Command, validate_preset_name
from ..requests import Refused, check_quota, fetch, find_preset, submit
from ..services import Services, services
from .common import answer

log = logging.getLogger(__name__)

PRESET_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
NAME_RULES = "A style name uses letters, digits, - and _ (at most 32), e.g. /savestyle my_watercolour"
ALBUM_SIZE = 10  # Telegram's limit for one media group


async def on_presets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/presets: thumbnails of every style this chat can use, then buttons to pick one."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    svc = services(context)
    presets = await svc.p.list(msg.chat_id)
    if not presets:
        await answer(
            msg,
            "There are no styles yet. Reply to a picture with /savestyle &lt;name&gt; to add one for this chat.",
        )
        return
    thumbs = await asyncio.gather(*(asyncio.to_thread(_thumb_or_none, p.path) for p in presets))
    shown = [(p, t) for p, t in zip(presets, thumbs, strict=True) if t is not None]
    for start in range(0, len(shown), ALBUM_SIZE):
        chunk = shown[start : start + ALBUM_SIZE]
        if len(chunk) == 1:
            preset, thumb = chunk[0]
            await context.bot.send_photo(msg.chat_id, photo=thumb, caption=_label(preset))
        else:
            await context.bot.send_media_group(
                msg.chat_id, media=[InputMediaPhoto(thumb, caption=_label(p)) for p, thumb in chunk]
            )
    names = ", ".join(p.name for p in presets)
    await answer(
        msg,
        f"Styles: {escape(names, quote=False)}.\n"
        "Send a photo captioned /style &lt;name&gt;, or send a photo and tap a style.",
        reply_markup=preset_keyboard(presets, owner_id=user.id),
    )


def _label(preset: Preset) -> str:
    return preset.name if preset.chat_id is None else f"{preset.name} (this chat)"


def _thumb_or_none(path: Path) -> bytes | None:
    try:
        return thumbnail_bytes(path)
    except Exception:  # a broken preset file must not break /presets for everyone
        log.warning("preset image %s can't be read", path)
        return None


async def on_save_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/savestyle <name> or /addpreset <name> as a reply to a picture: save it as a style."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None or msg.text is None:
        return
    svc = services(context)
    cmd = Command(msg.text.split()[0].lstrip("/").split("@")[0].lower(), tuple(context.args or ()))
    ref = image_ref(msg.reply_to_message)
    try:
        if ref is None:
            raise Refused(f"Reply to a picture with /{cmd.name} <name> to save it as a style.")
        await save_preset(context.bot, svc, msg, user, ref, cmd)
    except Refused as exc:
        await answer(msg, escape(str(exc), quote=False))


async def save_preset(bot: Bot, svc: Services, msg: Message, user: User, ref: ImageRef, cmd: Command) -> None:
    """Save the picture as a chat style (/savestyle) or, for admins, a global one (/addpreset)."""
    is_global = cmd.name == "addpreset"
    if is_global and not svc.settings.is_admin(user.id):
        raise Refused("Only the bot's admins can add global styles. Use /savestyle <name> for this chat.")
    if not cmd.args:
        raise Refused(NAME_RULES)
    name = validate_preset_name(cmd.arg_text)
    if name is None:
        raise Refused(NAME_RULES)
    chat_id = None if is_global else msg.chat_id
    path = await fetch(bot, svc, user.id, ref)  # the preset store keeps its own copy
    await svc.p.add(name, path, chat_id=chat_id, added_by=user.id)
    where = "for everyone" if is_global else ("for you" if msg.chat.type == ChatType.PRIVATE else "for this chat")
    await answer(
        msg, f"Saved the style “{escape(name, quote=False)}” {where}. Try it: /style {escape(name, quote=False)}"
    )


async def on_preset_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a style button: paint the tapper's waiting photo with it."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    owner, _, name = query.data.removeprefix(PRESET_PREFIX).partition(":")
    if owner != str(user.id):
        await query.answer("These buttons are for whoever sent the photo. Send your own photo first.", True)
        return
    prompt = query.message
    async with svc.lock(prompt.chat_id, user.id):
        pending = await svc.st.get_pending(prompt.chat_id, user.id, svc.tuning.pending_ttl_s)
        if pending is None:
            await query.answer("Send me a photo first, then pick a style.", True)
            return
        try:
            preset = await find_preset(svc, name, prompt.chat_id)
            await check_quota(svc, user.id)
        except Refused as exc:
            await query.answer(str(exc)[:200], True)
            return
        await query.answer(f"Painting with {preset.name}…")
        # Each prompt makes one job: it is recorded under the prompt's message, so a double tap is harmless.
        await query.edit_message_reply_markup(None)
        await svc.st.mark_pending_used(prompt.chat_id, user.id)
        await submit(
            context.bot,
            svc,
            chat_id=prompt.chat_id,
            chat_type=prompt.chat.type,
            user=user,
            content=pending.path,
            styles=(preset.path,),
            style_name=preset.name,
            reply_message_id=pending.message_id,
            request_message_id=prompt.id,
        )


async def sync_preset_dir(svc: Services) -> int:
    """Register the pictures in settings.presets_dir as global presets (file stem = name)."""
    directory = svc.settings.presets_dir
    if directory is None:
        return 0
    files = await asyncio.to_thread(_list_images, directory)
    added = 0
    for path in files:
        name = validate_preset_name(path.stem)
        if name is None:
            log.warning("preset file %s skipped: its name can't be a style name", path.name)
            continue
        existing = await svc.p.get(name, 0)
        # A style an admin added with /addpreset wins over a file of the same name.
        if existing is not None and (existing.added_by or await asyncio.to_thread(_same_file, existing.path, path)):
            continue
        try:
            await asyncio.to_thread(validate_image, await asyncio.to_thread(path.read_bytes))
        except BadImage:
            log.warning("preset file %s skipped: not a readable picture", path.name)
            continue
        await svc.p.add(name, path, chat_id=None, added_by=0)
        added += 1
    return added


def _list_images(directory: Path) -> list[Path]:
    if not directory.is_dir():
        log.warning("presets directory %s does not exist", directory)
        return []
    return sorted(p.resolve() for p in directory.iterdir() if p.suffix.lower() in PRESET_SUFFIXES)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False
