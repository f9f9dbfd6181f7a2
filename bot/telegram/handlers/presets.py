"""Presets: /presets with thumbnails, /addpreset (admins), /savestyle, and the preset buttons."""

from __future__ import annotations

import asyncio
import logging
from html import escape

from telegram import Bot, InputMediaPhoto, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from jobs.models import LimitKind, LimitReached, Preset

from ...core.i18n import N_, Translator, translator
from ...core.identity import Requester
from ...core.images import BadImage, thumbnail_bytes
from ...core.limits import ImageRef, image_refusal, limit_refusal
from ...core.parsing import NAME_RULES, Command, validate_preset_name
from ...core.presets import CREDITS
from ...core.requests import Refused, check_quota
from ..identity import person, requester_of, translator_of
from ..images import download, image_ref
from ..keyboards import PRESET_PREFIX, preset_keyboard
from ..requests import find_preset, submit
from ..services import TelegramServices, services
from .common import answer

log = logging.getLogger(__name__)

ALBUM_SIZE = 10  # Telegram's limit for one media group


async def on_presets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/presets: thumbnails of every style this chat can use, then buttons to pick one."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    presets = await svc.presets.list(msg.chat_id)
    if not presets:
        await answer(
            msg,
            t.gettext(
                "There are no styles yet. Reply to a picture with /savestyle &lt;name&gt; to add one for this chat."
            ),
        )
        return
    thumbs = await asyncio.gather(*(_thumb_or_none(svc, p) for p in presets))
    shown = [(p, t) for p, t in zip(presets, thumbs, strict=True) if t is not None]
    for start in range(0, len(shown), ALBUM_SIZE):
        chunk = shown[start : start + ALBUM_SIZE]
        if len(chunk) == 1:
            preset, thumb = chunk[0]
            await context.bot.send_photo(msg.chat_id, photo=thumb, caption=_label(preset, t))
        else:
            await context.bot.send_media_group(
                msg.chat_id, media=[InputMediaPhoto(thumb, caption=_label(p, t)) for p, thumb in chunk]
            )
    names = ", ".join(p.name for p in presets)
    await answer(
        msg,
        t.gettext(
            "Styles: {names}.\nSend a photo captioned /style &lt;name&gt;, or send a photo and tap a style.",
            names=escape(names, quote=False),
        ),
        reply_markup=preset_keyboard(presets, owner_id=user.id),
    )


def _label(preset: Preset, t: Translator) -> str:
    if preset.chat_id is not None:
        return t.gettext("{name} (this chat)", name=preset.name)
    credit = CREDITS.get(preset.name) if preset.added_by == 0 else None  # a built-in one, not an admin's
    return f"{preset.name} — {credit}" if credit else preset.name


async def _thumb_or_none(svc: TelegramServices, preset: Preset) -> bytes | None:
    data = await svc.read_picture(preset.image_key)
    try:
        return await svc.decodes.run(thumbnail_bytes, data) if data is not None else None
    except Exception:  # a broken preset picture must not break /presets for everyone
        log.warning("preset image %s can't be read", preset.image_key)
        return None


async def on_save_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/savestyle <name> or /addpreset <name> as a reply to a picture: save it as a style."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None or msg.text is None:
        return
    svc = services(context)
    cmd = Command(msg.text.split()[0].lstrip("/").split("@")[0].lower(), tuple(context.args or ()))
    ref = image_ref(msg.reply_to_message)
    try:
        if ref is None:
            raise Refused(N_("Reply to a picture with /{command} <name> to save it as a style.", command=cmd.name))
        await save_preset(context.bot, svc, msg, user, ref, cmd)
    except Refused as exc:
        await answer(msg, escape(exc.say(translator_of(update)), quote=False))


async def save_preset(
    bot: Bot, svc: TelegramServices, msg: Message, user: Requester, ref: ImageRef, cmd: Command
) -> None:
    """Save the picture as a chat style (/savestyle) or, for admins, a global one (/addpreset)."""
    is_global = cmd.name == "addpreset"
    if is_global and not svc.settings.is_admin(user.id):
        raise Refused(N_("Only the bot's admins can add global styles. Use /savestyle <name> for this chat."))
    if not cmd.args:
        raise Refused(NAME_RULES)
    name = validate_preset_name(cmd.arg_text)
    if name is None:
        raise Refused(NAME_RULES)
    chat_id = None if is_global else msg.chat_id
    if chat_id is not None:
        await _check_chat_preset_change(bot, svc, msg, user, name)
    refusal = image_refusal(ref)
    if refusal:
        raise Refused(refusal)
    try:
        checked = await download(bot, ref, svc.decodes)
        # The chat's limit is counted where the preset is inserted: saves sent at once can't add up to more.
        limit = svc.settings.max_presets_per_chat
        await svc.presets.add(name, checked.data, ref.suffix, chat_id=chat_id, added_by=user.id, max_per_chat=limit)
    except BadImage as exc:
        raise Refused(exc.text) from exc
    except LimitReached as exc:
        raise Refused(limit_refusal(exc)) from exc
    t, shown = translator(user.language), escape(name, quote=False)
    if is_global:
        saved = t.gettext("Saved the style “{name}” for everyone. Try it: /style {name}", name=shown)
    elif msg.chat.type == ChatType.PRIVATE:
        saved = t.gettext("Saved the style “{name}” for you. Try it: /style {name}", name=shown)
    else:
        saved = t.gettext("Saved the style “{name}” for this chat. Try it: /style {name}", name=shown)
    await answer(msg, saved)


async def _check_chat_preset_change(bot: Bot, svc: TelegramServices, msg: Message, user: Requester, name: str) -> None:
    """A chat's styles: any member may add one (up to the limit); only its admins may overwrite one."""
    existing = await svc.presets.get(name, msg.chat_id)
    replacing = existing is not None and existing.chat_id == msg.chat_id
    if replacing and not await _may_manage_styles(bot, svc, msg, user):
        raise Refused(N_("Only this group's admins can change its style “{name}”. Pick another name.", name=name))
    if not replacing:  # the fast check before downloading; the insert is the authority
        count, limit = await svc.presets.count(msg.chat_id), svc.settings.max_presets_per_chat
        if count >= limit:
            raise Refused(limit_refusal(LimitReached(LimitKind.PRESETS, count, limit)))


async def _may_manage_styles(bot: Bot, svc: TelegramServices, msg: Message, user: Requester) -> bool:
    """In a private chat its owner; in a group its admins (an anonymous admin posts as the group itself)."""
    if msg.chat.type == ChatType.PRIVATE or svc.settings.is_admin(user.id) or user.id == msg.chat_id:
        return True
    return not user.as_chat and await svc.chat_admins.is_admin(bot, msg.chat_id, user.id)


async def on_delete_style(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/deletestyle <name>: delete one of this chat's styles (in groups, admins only)."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    name = validate_preset_name(" ".join(context.args or ()))
    if name is None:
        await answer(msg, t.gettext("Which one? /deletestyle &lt;name&gt; — /presets lists this chat's styles."))
    elif not await _may_manage_styles(context.bot, svc, msg, user):
        await answer(msg, t.gettext("Only this group's admins can delete its styles."))
    elif await svc.presets.delete(name, msg.chat_id):
        await answer(msg, t.gettext("Deleted the style “{name}”.", name=escape(name, quote=False)))
    else:
        await answer(
            msg, t.gettext("This chat has no style of its own called “{name}”.", name=escape(name, quote=False))
        )


async def on_preset_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a style button: paint the waiting photo of the one who sent it with that style."""
    query, tapper = update.callback_query, update.effective_user
    if query is None or tapper is None or query.data is None or not isinstance(query.message, Message):
        return
    svc, t = services(context), translator_of(update)
    owner_text, _, name = query.data.removeprefix(PRESET_PREFIX).partition(":")
    owner = int(owner_text) if owner_text.lstrip("-").isdigit() else 0
    prompt = query.message
    if not await svc.chat_admins.may_act_for(context.bot, prompt.chat_id, tapper.id, owner):
        await query.answer(t.gettext("These buttons are for whoever sent the photo. Send your own photo first."), True)
        return
    user = person(tapper)
    if owner != tapper.id:  # an admin of the group, for the group's anonymous admin (in the tapper's language)
        user = Requester(owner, prompt.chat.title or "", as_chat=True, language=tapper.language_code or "")
    assert user is not None
    async with svc.lock(prompt.chat_id, user.id):
        pending = await svc.chat_state.get_pending(prompt.chat_id, user.id, svc.tuning.pending_ttl_s)
        if pending is None:
            await query.answer(t.gettext("Send me a photo first, then pick a style."), True)
            return
        try:
            preset = await find_preset(svc, name, prompt.chat_id)
            await check_quota(svc, user.id)
        except Refused as exc:
            await query.answer(exc.say(t)[:200], True)
            return
        await query.answer(t.gettext("Painting with {style}…", style=preset.name))
        # Each prompt makes one job: it is recorded under the prompt's message, so a double tap is harmless.
        await query.edit_message_reply_markup(None)
        await svc.chat_state.mark_pending_used(prompt.chat_id, user.id)
        try:
            await submit(
                context.bot,
                svc,
                chat_id=prompt.chat_id,
                chat_type=prompt.chat.type,
                user=user,
                content=pending.image_key,
                styles=(preset.image_key,),
                style_name=preset.name,
                reply_message_id=pending.message_id,
                request_message_id=prompt.id,
            )
        except Refused as exc:  # a limit reached by requests sent at once (the insert is the authority)
            await answer(prompt, escape(exc.say(t), quote=False))
