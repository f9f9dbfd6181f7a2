"""Every button under a result (`bot.telegram.keyboards.result_keyboard`), routed by `on_result_button`: the variations
(painted again), Full-size file, Time-lapse, Other style, and in groups Send to me privately and Delete."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from html import escape

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from jobs import keys
from jobs.models import JobStatus

from ...core.captions import result_caption, result_filename
from ...core.i18n import N_, Text
from ...core.identity import Requester
from ...core.params import BIGGER, SMALLER, STRONGER, VARIATIONS, WEAKER, varied
from ...core.requests import Refused, check_quota
from ..identity import translator_of
from ..keyboards import DELETE, FILE, OTHER_STYLE, PRIVATELY, RESULT_PREFIX, TIMELAPSE, preset_keyboard
from ..requests import reply_to, submit
from ..services import TelegramServices, services
from .buttons import PICTURE_GONE, job_on_message
from .common import answer

log = logging.getLogger(__name__)

ORIGINALS_GONE = N_("The original pictures are gone; please send them again.")


def _tapped(update: Update) -> tuple[CallbackQuery, Message]:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    return query, query.message


async def send_timelapse(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> None:
    """The painting's progress as an animation, as a reply to the result."""
    (query, result), svc, t = _tapped(update), services(context), translator_of(update)
    data = await svc.read_picture(keys.timelapse_key(job.user_id, job.id))
    if data is None:
        await query.answer(t.gettext("There is no time-lapse of this picture any more."), True)
        return
    await query.answer(t.gettext("Sending the time-lapse…"))
    await context.bot.send_animation(
        result.chat_id,
        animation=data,
        filename=f"stylebot-{job.id}-{keys.TIMELAPSE_NAME}",
        reply_parameters=reply_to(result.id),
    )


async def offer_other_style(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> None:
    """The job's photo becomes its owner's waiting photo, and the style buttons appear (as after sending it)."""
    (query, result), svc, t = _tapped(update), services(context), translator_of(update)
    content = job.content_key
    if content is None or not await asyncio.to_thread(svc.storage.exists, content):
        await query.answer(t(ORIGINALS_GONE), True)
        return
    async with svc.lock(result.chat_id, job.user_id):
        # The pending photo's message is the result, so the next painting replies to it.
        await svc.chat_state.set_pending(result.chat_id, job.user_id, content, result.id)
    keyboard = preset_keyboard(await svc.presets.list(result.chat_id), owner_id=job.user_id)
    await query.answer()
    if keyboard is None:
        await answer(result, t.gettext("Send me the painting whose style this photo should get."))
    else:
        await answer(result, t.gettext("Pick another style for this photo:"), reply_markup=keyboard)


async def send_privately(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> None:
    """The full picture, from the storage, in the tapper's private chat with the bot (anyone in the group may ask:
    it is a copy of what the group already sees; `job` is the one whose result was tapped)."""
    (query, _), svc, t = _tapped(update), services(context), translator_of(update)
    tapper = update.effective_user
    assert tapper is not None
    data = await svc.read_picture(job.result_key)
    if data is None:
        await query.answer(t(PICTURE_GONE), True)
        return
    caption = result_caption(replace(job, language=tapper.language_code or ""))
    try:
        try:
            await context.bot.send_photo(tapper.id, photo=data, caption=caption, parse_mode=ParseMode.HTML)
        except BadRequest as exc:  # e.g. dimensions Telegram won't take as a photo: the file then
            log.info("job %s: sending the private copy as a file (%s)", job.id, exc)
            await context.bot.send_document(
                tapper.id, document=data, filename=result_filename(job), caption=caption, parse_mode=ParseMode.HTML
            )
    except Forbidden:  # they never opened the bot (or blocked it): bots may not write first
        await query.answer(
            t.gettext(
                "I can't write to you yet: open @{bot}, press Start, then tap this button again.",
                bot=svc.bot_username,
            ),
            True,
        )
        return
    await query.answer(t.gettext("Sent to our private chat."))


async def delete_result(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> None:
    """Delete the result message (the tapped one, `job`'s result): its requester may, and so may the chat's admins
    and the bot's admins."""
    (query, result), svc, t = _tapped(update), services(context), translator_of(update)
    tapper = update.effective_user
    assert tapper is not None
    allowed = (
        job.user_id == tapper.id
        or svc.settings.is_admin(tapper.id)
        or await svc.chat_admins.is_admin(context.bot, result.chat_id, tapper.id)
    )
    if not allowed:
        if job.user_name:
            refusal = t.gettext("Only {name} or an admin of this group can delete it.", name=job.user_name)
        else:
            refusal = t.gettext("Only the person who asked for it or an admin of this group can delete it.")
        await query.answer(refusal, True)
        return
    try:
        await context.bot.delete_message(result.chat_id, result.id)
    except (BadRequest, Forbidden) as exc:
        log.info("result message %s/%s not deleted: %s", result.chat_id, result.id, exc)
        await query.answer(t.gettext("I can't delete it: Telegram lets me delete messages only for 48 hours."), True)
        return
    await query.answer(t.gettext("Deleted."))


async def may_act_on(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> bool:
    """Whether the tapper may act for the job's owner in the chat of the tapped message (answers the query
    otherwise)."""
    query, user, svc, t = update.callback_query, update.effective_user, services(context), translator_of(update)
    assert query is not None and user is not None and isinstance(query.message, Message)
    if not await svc.chat_admins.may_act_for(context.bot, query.message.chat_id, user.id, job.user_id):
        if job.user_name:
            await query.answer(t.gettext("Only {name} can do that. Send your own photo!", name=job.user_name), True)
        else:
            await query.answer(t.gettext("Only its owner can do that. Send your own photo!"), True)
        return False
    return True


AT_LIMIT: dict[str, Text] = {
    STRONGER: N_("That is already the strongest style I paint."),
    WEAKER: N_("That is already the weakest style I paint."),
    BIGGER: N_("Those are already the biggest strokes I paint."),
    SMALLER: N_("Those are already the smallest strokes I paint."),
}


async def on_result_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under a result (bot.telegram.keyboards.result_keyboard): a variation painted again, or one of the
    others."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    action, _, job_id = query.data.removeprefix(RESULT_PREFIX).partition(":")
    job = await job_on_message(update, context, job_id)  # the job whose result the tapped message is, or None
    if job is None:
        return
    if action == PRIVATELY:  # anyone may ask for a copy, and a chat's admins may delete: no owner check here
        await send_privately(update, context, job)
        return
    if action == DELETE:
        await delete_result(update, context, job)
        return
    if not await may_act_on(update, context, job):
        return
    if action == FILE:
        await send_file(update, context, job)
    elif action == TIMELAPSE:
        await send_timelapse(update, context, job)
    elif action == OTHER_STYLE:
        await offer_other_style(update, context, job)
    elif action in VARIATIONS:
        await redo(update, context, svc, job, action, reply_message_id=query.message.id)
    else:
        await query.answer()  # a button this version no longer has


async def send_file(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> None:
    query, t = update.callback_query, translator_of(update)
    assert query is not None and isinstance(query.message, Message)
    data = await services(context).read_picture(job.result_key)
    if data is None:
        await query.answer(t.gettext("The full-size file is gone (it was deleted)."), True)
        return
    await query.answer(t.gettext("Sending the file…"))
    chat_id = query.message.chat_id
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    await context.bot.send_document(
        chat_id,
        document=data,
        filename=result_filename(job),
        caption=f"{job.result_width}×{job.result_height}",
        reply_parameters=reply_to(query.message.id),
    )


async def redo(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    svc: TelegramServices,
    job: JobStatus,
    action: str,
    reply_message_id: int,
) -> None:
    query, t = update.callback_query, translator_of(update)
    assert query is not None and isinstance(query.message, Message)
    # The new job is the owner's (in the language they asked in), whoever tapped for them.
    user = Requester(job.user_id, job.user_name, language=job.language)
    params = varied(job.params, action)
    if action in AT_LIMIT and params == job.params:
        await query.answer(t(AT_LIMIT[action]), True)
        return
    if job.content_key is None or not job.style_keys or not await _all_stored(svc, [job.content_key, *job.style_keys]):
        await query.answer(t(ORIGINALS_GONE), True)
        return
    async with svc.lock(query.message.chat_id, user.id):
        try:
            await check_quota(svc, user.id)
        except Refused as exc:
            await query.answer(exc.say(t)[:200], True)
            return
        await query.answer(t.gettext("On it!"))
        try:
            await submit(
                context.bot,
                svc,
                chat_id=query.message.chat_id,
                chat_type=query.message.chat.type,
                user=user,
                content=job.content_key,
                styles=job.style_keys,
                style_name=job.style_name,
                reply_message_id=reply_message_id,
                request_message_id=None,
                params=params,
            )
        except Refused as exc:  # a limit reached by requests sent at once (the insert is the authority)
            await answer(query.message, escape(exc.say(t), quote=False))


async def _all_stored(svc: TelegramServices, keys: list[str]) -> bool:
    return all(await asyncio.gather(*(asyncio.to_thread(svc.storage.exists, key) for key in keys)))
