"""Pictures and /style: every way of asking for a painting."""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from typing import Any

from telegram import Bot, Message, Update, User
from telegram.ext import Application, ContextTypes

from ..albums import AlbumKey, pair_album
from ..keyboards import preset_keyboard
from ..limits import ImageRef, image_ref
from ..parsing import Command, parse_command
from ..requests import Refused, check_quota, fetch, find_preset, submit
from ..services import Services, services
from .common import answer, is_private
from .presets import save_preset

log = logging.getLogger(__name__)

ASK_STYLE = "Got your photo! Now send the style picture, or pick a style:"
ASK_STYLE_NO_PRESETS = "Got your photo! Now send the picture whose style I should copy."
NO_PHOTO = "First send me the photo to paint (or reply to one with /style &lt;name&gt;). /presets shows the styles."


async def on_image(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or picture file: a captioned request, a photo waiting for its style, or that style."""
    msg, user, chat = update.effective_message, update.effective_user, update.effective_chat
    ref = image_ref(msg)
    if msg is None or user is None or chat is None or ref is None:
        return
    svc = services(context)
    cmd = parse_command(msg.caption, svc.bot_username)
    if cmd is None and not is_private(update):
        return  # in groups a picture is only for the bot when its caption is a command
    if cmd is None and msg.media_group_id:
        assert svc.albums is not None
        svc.albums.add((chat.id, user.id, msg.media_group_id), msg.id, (ref, msg))
        return
    async with svc.lock(chat.id, user.id):
        try:
            if cmd is None:
                await _private_picture(context.bot, svc, msg, user, ref)
            elif cmd.name == "style":
                await _captioned_style(context.bot, svc, msg, user, ref, cmd)
            elif cmd.name in ("savestyle", "addpreset"):
                await save_preset(context.bot, svc, msg, user, ref, cmd)
        except Refused as exc:
            await answer(msg, escape(str(exc), quote=False))


async def _private_picture(bot: Bot, svc: Services, msg: Message, user: User, ref: ImageRef) -> None:
    pending = await svc.st.get_pending(msg.chat_id, user.id, svc.tuning.pending_ttl_s)
    if pending is not None and not pending.used:
        await check_quota(svc, user.id)
        style = await fetch(bot, svc, user.id, ref)
        await submit(
            bot,
            svc,
            chat_id=msg.chat_id,
            chat_type=msg.chat.type,
            user=user,
            content=pending.path,
            styles=(style,),
            style_name="",
            reply_message_id=msg.id,
            request_message_id=msg.id,
        )
        await svc.st.clear_pending(msg.chat_id, user.id)
        return
    content = await fetch(bot, svc, user.id, ref)
    await svc.st.set_pending(msg.chat_id, user.id, content, msg.id)
    await ask_for_style(svc, msg, user)


async def ask_for_style(svc: Services, msg: Message, user: User) -> None:
    """Offer the chat's presets for the user's waiting photo."""
    keyboard = preset_keyboard(await svc.p.list(msg.chat_id), owner_id=user.id)
    await answer(msg, ASK_STYLE if keyboard else ASK_STYLE_NO_PRESETS, reply_markup=keyboard)


async def _captioned_style(bot: Bot, svc: Services, msg: Message, user: User, ref: ImageRef, cmd: Command) -> None:
    replied = image_ref(msg.reply_to_message)
    if replied is not None and not cmd.args:
        # A reply to a photo with a picture captioned /style: the replied photo in this picture's style.
        await check_quota(svc, user.id)
        content = await fetch(bot, svc, user.id, replied)
        style = await fetch(bot, svc, user.id, ref)
        await _submit(bot, svc, msg, user, content, (style,), "")
        return
    if not cmd.args:
        content = await fetch(bot, svc, user.id, ref)
        await svc.st.set_pending(msg.chat_id, user.id, content, msg.id)
        await ask_for_style(svc, msg, user)
        return
    preset = await find_preset(svc, cmd.arg_text, msg.chat_id)
    await check_quota(svc, user.id)
    content = await fetch(bot, svc, user.id, ref)
    await _submit(bot, svc, msg, user, content, (preset.path,), preset.name)
    await svc.st.set_pending(msg.chat_id, user.id, content, msg.id)
    await svc.st.mark_pending_used(msg.chat_id, user.id)


async def _submit(
    bot: Bot, svc: Services, msg: Message, user: User, content: Path, styles: tuple[Path, ...], style_name: str
) -> None:
    await submit(
        bot,
        svc,
        chat_id=msg.chat_id,
        chat_type=msg.chat.type,
        user=user,
        content=content,
        styles=styles,
        style_name=style_name,
        reply_message_id=msg.id,
        request_message_id=msg.id,
    )


async def on_style_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/style <name>: paint the replied-to photo, or your last photo, with a preset."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    svc = services(context)
    args = tuple(context.args or ())
    async with svc.lock(msg.chat_id, user.id):
        try:
            await _style_command(context.bot, svc, msg, user, args)
        except Refused as exc:
            await answer(msg, escape(str(exc), quote=False))


async def _style_command(bot: Bot, svc: Services, msg: Message, user: User, args: tuple[str, ...]) -> None:
    preset = await find_preset(svc, " ".join(args), msg.chat_id) if args else None
    replied = image_ref(msg.reply_to_message)
    if replied is not None:
        if preset is not None:
            await check_quota(svc, user.id)
        content = await fetch(bot, svc, user.id, replied)
        await svc.st.set_pending(msg.chat_id, user.id, content, replied.message_id)
        if preset is None:
            await ask_for_style(svc, msg, user)
            return
        await svc.st.mark_pending_used(msg.chat_id, user.id)
        await _submit(bot, svc, msg, user, content, (preset.path,), preset.name)
        return
    pending = await svc.st.get_pending(msg.chat_id, user.id, svc.tuning.pending_ttl_s)
    if pending is None:
        await answer(msg, NO_PHOTO)
        return
    if preset is None:
        await ask_for_style(svc, msg, user)
        return
    await check_quota(svc, user.id)
    await svc.st.mark_pending_used(msg.chat_id, user.id)
    await _submit(bot, svc, msg, user, pending.path, (preset.path,), preset.name)


async def on_album(app: Application[Any, Any, Any, Any, Any, Any], key: AlbumKey, items: list[tuple[int, Any]]) -> None:
    """A complete album: the first picture is the photo, the others its styles."""
    svc, bot = services(app), app.bot
    chat_id, user_id, _ = key
    entries: list[tuple[int, tuple[ImageRef, Message]]] = items  # type: ignore[assignment]
    first_msg = min(entries, key=lambda entry: entry[0])[1][1]
    user = first_msg.from_user
    if user is None:
        return
    pair = pair_album([(mid, ref_msg[0]) for mid, ref_msg in entries])
    async with svc.lock(chat_id, user_id):
        try:
            if isinstance(pair, str):
                raise Refused(pair)
            await check_quota(svc, user_id)
            content = await fetch(bot, svc, user_id, pair.content)
            styles = tuple([await fetch(bot, svc, user_id, ref) for ref in pair.styles])
            await _submit(bot, svc, first_msg, user, content, styles, "")
        except Refused as exc:
            await answer(first_msg, escape(str(exc), quote=False))
