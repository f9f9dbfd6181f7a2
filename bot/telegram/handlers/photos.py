"""Pictures and /style: every way of asking for a painting."""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from telegram import Bot, Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes

from ...core.albums import AlbumKey, pair_album
from ...core.i18n import N_, translator
from ...core.identity import Requester
from ...core.limits import ImageRef
from ...core.parsing import Command, parse_command
from ...core.requests import Refused, check_quota
from ..identity import requester_of, requester_of_message
from ..images import image_ref
from ..keyboards import preset_keyboard
from ..requests import fetch, find_preset, submit
from ..services import TelegramServices, services
from .common import answer, is_private
from .presets import save_preset

log = logging.getLogger(__name__)

ASK_STYLE = N_("Got your photo! Now send the style picture, or pick a style:")
ASK_STYLE_NO_PRESETS = N_("Got your photo! Now send the picture whose style I should copy.")
NO_PHOTO = N_("First send me the photo to paint (or reply to one with /style &lt;name&gt;). /presets shows the styles.")


async def on_image(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or picture file: a captioned request, a photo waiting for its style, or that style."""
    msg, user, chat = update.effective_message, requester_of(update), update.effective_chat
    ref = image_ref(msg)
    if msg is None or user is None or chat is None or ref is None:
        return
    svc = services(context)
    cmd = parse_command(msg.caption, svc.bot_username)
    if msg.media_group_id:  # the album's caption sits on one of its pictures: decide once they are all here
        assert svc.albums is not None
        svc.albums.add((chat.id, user.id, msg.media_group_id), msg.id, (ref, msg, cmd))
        return
    if cmd is None and not is_private(update):
        return  # in groups a picture is only for the bot when its caption is a command
    async with svc.lock(chat.id, user.id):
        try:
            if cmd is None:
                await _private_picture(context.bot, svc, msg, user, ref)
            elif cmd.name == "style":
                await _captioned_style(context.bot, svc, msg, user, ref, cmd)
            elif cmd.name in ("savestyle", "addpreset"):
                await save_preset(context.bot, svc, msg, user, ref, cmd)
        except Refused as exc:
            await answer(msg, escape(exc.say(translator(user.language)), quote=False), reply_markup=exc.keyboard)


async def _private_picture(bot: Bot, svc: TelegramServices, msg: Message, user: Requester, ref: ImageRef) -> None:
    chosen = await svc.chat_state.take_chosen_style(msg.chat_id, user.id, svc.tuning.pending_ttl_s)
    preset = await svc.presets.get(chosen, msg.chat_id) if chosen else None
    if preset is not None:  # a shared link chose the style before the photo came
        content = await fetch(bot, svc, user.id, ref)
        await _submit(bot, svc, msg, user, content, (preset.image_key,), preset.name)
        return
    pending = await svc.chat_state.get_pending(msg.chat_id, user.id, svc.tuning.pending_ttl_s)
    if pending is not None and not pending.used:
        style = await fetch(bot, svc, user.id, ref)
        await _submit(bot, svc, msg, user, pending.image_key, (style,), "")
        await svc.chat_state.clear_pending(msg.chat_id, user.id)
        return
    content = await fetch(bot, svc, user.id, ref)
    await svc.chat_state.set_pending(msg.chat_id, user.id, content, msg.id)
    await ask_for_style(svc, msg, user)


async def ask_for_style(svc: TelegramServices, msg: Message, user: Requester) -> None:
    """Offer the chat's presets for the user's waiting photo."""
    keyboard = preset_keyboard(await svc.presets.list(msg.chat_id), owner_id=user.id)
    await answer(msg, translator(user.language)(ASK_STYLE if keyboard else ASK_STYLE_NO_PRESETS), reply_markup=keyboard)


async def _captioned_style(
    bot: Bot, svc: TelegramServices, msg: Message, user: Requester, ref: ImageRef, cmd: Command
) -> None:
    replied = image_ref(msg.reply_to_message)
    if replied is not None and not cmd.args:
        # A reply to a photo with a picture captioned /style: the replied photo in this picture's style.
        content = await fetch(bot, svc, user.id, replied)
        style = await fetch(bot, svc, user.id, ref)
        await _submit(bot, svc, msg, user, content, (style,), "")
        return
    if not cmd.args:
        content = await fetch(bot, svc, user.id, ref)
        await svc.chat_state.set_pending(msg.chat_id, user.id, content, msg.id)
        await ask_for_style(svc, msg, user)
        return
    try:
        preset = await find_preset(svc, cmd.arg_text, msg.chat_id, owner_id=user.id)
    except Refused as exc:
        raise await _offer_styles(bot, svc, msg, user, ref, exc) from None
    content = await fetch(bot, svc, user.id, ref)
    await _submit(bot, svc, msg, user, content, (preset.image_key,), preset.name)
    await svc.chat_state.set_pending(msg.chat_id, user.id, content, msg.id)
    await svc.chat_state.mark_pending_used(msg.chat_id, user.id)


async def _submit(
    bot: Bot,
    svc: TelegramServices,
    msg: Message,
    user: Requester,
    content: str,
    styles: tuple[str, ...],
    style_name: str,
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
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc = services(context)
    args = tuple(context.args or ())
    async with svc.lock(msg.chat_id, user.id):
        try:
            await _style_command(context.bot, svc, msg, user, args)
        except Refused as exc:
            await answer(msg, escape(exc.say(translator(user.language)), quote=False), reply_markup=exc.keyboard)


async def _style_command(bot: Bot, svc: TelegramServices, msg: Message, user: Requester, args: tuple[str, ...]) -> None:
    replied = image_ref(msg.reply_to_message)
    try:
        preset = await find_preset(svc, " ".join(args), msg.chat_id, owner_id=user.id) if args else None
    except Refused as exc:
        raise await _offer_styles(bot, svc, msg, user, replied, exc) from None
    if replied is not None:
        content = await fetch(bot, svc, user.id, replied)
        await svc.chat_state.set_pending(msg.chat_id, user.id, content, replied.message_id)
        if preset is None:
            await ask_for_style(svc, msg, user)
            return
        await svc.chat_state.mark_pending_used(msg.chat_id, user.id)
        await _submit(bot, svc, msg, user, content, (preset.image_key,), preset.name)
        return
    pending = await svc.chat_state.get_pending(msg.chat_id, user.id, svc.tuning.pending_ttl_s)
    if pending is None:
        await answer(msg, translator(user.language)(NO_PHOTO))
        return
    if preset is None:
        await ask_for_style(svc, msg, user)
        return
    await check_quota(svc, user.id)
    await svc.chat_state.mark_pending_used(msg.chat_id, user.id)
    await _submit(bot, svc, msg, user, pending.image_key, (preset.image_key,), preset.name)


async def _offer_styles(
    bot: Bot, svc: TelegramServices, msg: Message, user: Requester, photo: ImageRef | None, refusal: Refused
) -> Refused:
    """A refusal whose buttons offer styles paints the user's waiting photo when one is tapped: `photo` (fetched
    now) becomes that photo; without it the one already waiting does, and with none the buttons are left out."""
    if refusal.keyboard is None:
        return refusal
    if photo is not None:
        content = await fetch(bot, svc, user.id, photo)
        await svc.chat_state.set_pending(msg.chat_id, user.id, content, photo.message_id)
        return refusal
    if await svc.chat_state.get_pending(msg.chat_id, user.id, svc.tuning.pending_ttl_s) is None:
        return Refused(refusal.text)
    return refusal


AlbumPart = tuple[ImageRef, Message, Command | None]


async def on_album(app: Application[Any, Any, Any, Any, Any, Any], key: AlbumKey, items: list[tuple[int, Any]]) -> None:
    """A complete album. Captioned `/style <name>`: each photo painted with that style. Otherwise (in groups only
    with a `/style` caption): the first picture is the photo, the others its styles."""
    svc, bot = services(app), app.bot
    chat_id, user_id, _ = key
    parts: list[tuple[int, AlbumPart]] = sorted(items, key=lambda entry: entry[0])
    first_msg = parts[0][1][1]
    user = requester_of_message(first_msg)
    commands = [part[2] for _, part in parts if part[2] is not None]
    if user is None:
        return
    if not commands and first_msg.chat.type != ChatType.PRIVATE:
        return  # in groups a picture is only for the bot when its caption is a command
    command = commands[0] if commands else None
    async with svc.lock(chat_id, user_id):
        try:
            if command is not None and command.name == "style" and command.args:
                await _paint_each(bot, svc, user, [part for _, part in parts], command)
                return
            pair = pair_album([(mid, part[0]) for mid, part in parts])
            if isinstance(pair, str):
                raise Refused(pair)
            content = await fetch(bot, svc, user_id, pair.content)
            styles = tuple([await fetch(bot, svc, user_id, ref) for ref in pair.styles])
            await _submit(bot, svc, first_msg, user, content, styles, "")
        except Refused as exc:
            await answer(first_msg, escape(exc.say(translator(user.language)), quote=False), reply_markup=exc.keyboard)


async def _paint_each(
    bot: Bot, svc: TelegramServices, user: Requester, parts: list[AlbumPart], command: Command
) -> None:
    """Every photo of the album in one preset's style, as far as the user's limits go; say what was left out."""
    first_msg = parts[0][1]
    preset = await find_preset(svc, command.arg_text, first_msg.chat_id, owner_id=user.id)
    painted = 0
    for ref, msg, _ in parts:
        try:
            content = await fetch(bot, svc, user.id, ref)  # checks the user's limits first
            await _submit(bot, svc, msg, user, content, (preset.image_key,), preset.name)  # and counts them
        except Refused as exc:
            t = translator(user.language)
            left_out = len(parts) - painted
            note = t.ngettext(
                "I'm painting {painted} of your {total} photos; the last one is left out: {why}",
                "I'm painting {painted} of your {total} photos; the rest are left out: {why}",
                left_out,
                painted=painted,
                total=len(parts),
                why=exc.say(t),
            )
            await answer(first_msg, escape(note, quote=False))
            return
        painted += 1
