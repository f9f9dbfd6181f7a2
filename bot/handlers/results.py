"""The result buttons that don't paint again: Time-lapse, Other style, and in groups Send to me privately and
Delete (bot.handlers.jobs.on_result_button routes each tap here)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from jobs import keys
from jobs.models import JobStatus

from ..captions import result_caption, result_filename
from ..i18n import N_, translator_of
from ..keyboards import preset_keyboard
from ..requests import reply_to
from ..services import services
from .common import answer

log = logging.getLogger(__name__)

ORIGINALS_GONE = N_("The original pictures are gone; please send them again.")
PICTURE_GONE = N_("I don't have that picture any more.")


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


async def send_privately(update: Update, context: ContextTypes.DEFAULT_TYPE, job_id_text: str) -> None:
    """The full picture, from the storage, in the tapper's private chat with the bot (anyone in the group may ask:
    it is a copy of what the group already sees)."""
    (query, _), svc, t = _tapped(update), services(context), translator_of(update)
    tapper = update.effective_user
    assert tapper is not None
    job = await svc.jobs.status(int(job_id_text)) if job_id_text.isdigit() else None
    data = await svc.read_picture(job.result_key) if job is not None else None
    if job is None or data is None:
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


async def delete_result(update: Update, context: ContextTypes.DEFAULT_TYPE, job_id_text: str) -> None:
    """Delete the result message: its requester may, and so may the chat's admins and the bot's admins."""
    (query, result), svc, t = _tapped(update), services(context), translator_of(update)
    tapper = update.effective_user
    assert tapper is not None
    job = await svc.jobs.status(int(job_id_text)) if job_id_text.isdigit() else None
    allowed = (
        (job is not None and job.user_id == tapper.id)
        or svc.settings.is_admin(tapper.id)
        or await svc.chat_admins.is_admin(context.bot, result.chat_id, tapper.id)
    )
    if not allowed:
        if job is not None and job.user_name:
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
