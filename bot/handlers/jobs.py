"""Jobs after the request: /cancel and the Cancel button, result buttons, /history, /forget, /stats."""

from __future__ import annotations

import asyncio
import logging
from html import escape

from telegram import Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from jobs.models import ACTIVE_STATES, JobStatus

from ..captions import history_line, result_filename
from ..i18n import N_, Text, translator, translator_of
from ..identity import Requester, requester_of
from ..keyboards import (
    DELETE,
    FILE,
    FORGET_PREFIX,
    OTHER_STYLE,
    PRIVATELY,
    REDO_PREFIX,
    RESULT_PREFIX,
    TIMELAPSE,
    forget_keyboard,
    redo_keyboard,
)
from ..params import BIGGER, SMALLER, STRONGER, VARIATIONS, WEAKER, varied
from ..progress import format_duration
from ..requests import Refused, check_quota, reply_to, submit
from ..services import Services, services
from .common import answer
from .results import ORIGINALS_GONE, PICTURE_GONE, delete_result, offer_other_style, send_privately, send_timelapse

log = logging.getLogger(__name__)


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: stop your queued and running jobs in this chat and drop your waiting photo."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    mine = [j for j in await svc.jobs.active() if j.user_id == user.id and j.chat_id == msg.chat_id]
    cancelled = [j for j in mine if await svc.jobs.cancel(j.id)]
    dropped = await svc.chat_state.clear_pending(msg.chat_id, user.id)
    if cancelled:
        await answer(msg, t.ngettext("Cancelled {n} picture.", "Cancelled {n} pictures.", len(cancelled)))
    elif dropped:
        await answer(msg, t.gettext("OK, I forgot the photo you sent."))
    else:
        await answer(msg, t.gettext("There is nothing to cancel."))


FORGET_QUESTION = N_(
    "Delete all your pictures, your history, your settings and the styles you saved in our private chat? "
    "This can't be undone. (Your count of pictures today stays, so the daily limit still holds; styles you "
    "saved in a group stay with the group.)"
)


async def on_cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Cancel button on a status message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not isinstance(query.message, Message):
        return
    svc, t = services(context), translator_of(update)
    status_msg = query.message
    active = await svc.jobs.active()
    job = next((j for j in active if j.chat_id == status_msg.chat_id and j.status_message_id == status_msg.id), None)
    if job is None:
        await query.answer(t.gettext("That picture is already finished."))
        return
    allowed = svc.settings.is_admin(user.id) or await svc.chat_admins.may_act_for(
        context.bot, status_msg.chat_id, user.id, job.user_id
    )
    if not allowed:
        await query.answer(t.gettext("Only the person who asked for this picture can cancel it."), True)
        return
    if await svc.jobs.cancel(job.id):
        await query.answer(t.gettext("Cancelling…"))
        try:  # the status message speaks the requester's language, whoever tapped
            await query.edit_message_caption(translator(job.language).gettext("⏹ Cancelling…"), reply_markup=None)
        except BadRequest:
            pass  # the delivery loop shows the final state anyway
    else:
        await query.answer(t.gettext("That picture is already finished."))


async def _own_job(update: Update, context: ContextTypes.DEFAULT_TYPE, job_id_text: str) -> JobStatus | None:
    """The job named by a button, if it exists and the tapper may act for its owner (answers the query
    otherwise)."""
    query, user, svc, t = update.callback_query, update.effective_user, services(context), translator_of(update)
    assert query is not None and user is not None and isinstance(query.message, Message)
    job = await svc.jobs.status(int(job_id_text)) if job_id_text.isdigit() else None
    if job is None:
        await query.answer(t(PICTURE_GONE), True)
        return None
    if not await svc.chat_admins.may_act_for(context.bot, query.message.chat_id, user.id, job.user_id):
        if job.user_name:
            await query.answer(t.gettext("Only {name} can do that. Send your own photo!", name=job.user_name), True)
        else:
            await query.answer(t.gettext("Only its owner can do that. Send your own photo!"), True)
        return None
    return job


AT_LIMIT: dict[str, Text] = {
    STRONGER: N_("That is already the strongest style I paint."),
    WEAKER: N_("That is already the weakest style I paint."),
    BIGGER: N_("Those are already the biggest strokes I paint."),
    SMALLER: N_("Those are already the smallest strokes I paint."),
}


async def on_result_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under a result (bot.keyboards.result_keyboard): a variation painted again, or one of the others."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    action, _, job_id = query.data.removeprefix(RESULT_PREFIX).partition(":")
    if action == PRIVATELY:  # anyone may ask for a copy, and a chat's admins may delete: no owner check here
        await send_privately(update, context, job_id)
        return
    if action == DELETE:
        await delete_result(update, context, job_id)
        return
    job = await _own_job(update, context, job_id)
    if job is None:
        return
    if action == FILE:
        await _send_file(update, context, job)
    elif action == TIMELAPSE:
        await send_timelapse(update, context, job)
    elif action == OTHER_STYLE:
        await offer_other_style(update, context, job)
    elif action in VARIATIONS:
        await _redo(update, context, svc, job, action, reply_message_id=query.message.id)
    else:
        await query.answer()  # a button this version no longer has


async def _send_file(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> None:
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


async def _redo(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    svc: Services,
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


async def _all_stored(svc: Services, keys: list[str]) -> bool:
    return all(await asyncio.gather(*(asyncio.to_thread(svc.storage.exists, key) for key in keys)))


async def on_history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/history: your recent pictures, with Redo buttons."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    jobs = await svc.jobs.history(user.id, limit=10)
    if not jobs:
        await answer(msg, t.gettext("You haven't asked me for any pictures yet. Send a photo to start!"))
        return
    lines = [t.gettext("<b>Your recent pictures</b>"), *(history_line(j, t) for j in jobs)]
    redoable = [j for j in jobs if j.state not in ACTIVE_STATES and j.content_key is not None][:6]
    await answer(msg, "\n".join(lines), reply_markup=redo_keyboard(redoable, t))


async def on_redo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Redo button from /history: the same pictures and settings again."""
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    job = await _own_job(update, context, query.data.removeprefix(REDO_PREFIX))
    if job is not None:
        await _redo(update, context, svc, job, "same", reply_message_id=job.reply_to_message_id or job.message_id)


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: ask to delete all your pictures, history and settings."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    t = translator_of(update)
    await answer(msg, t(FORGET_QUESTION), reply_markup=forget_keyboard(user.id, t))


async def on_forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The /forget confirmation buttons."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None or not isinstance(query.message, Message):
        return
    owner_text, _, choice = query.data.removeprefix(FORGET_PREFIX).partition(":")
    owner = int(owner_text) if owner_text.lstrip("-").isdigit() else 0
    svc, t = services(context), translator_of(update)
    if not await svc.chat_admins.may_act_for(context.bot, query.message.chat_id, user.id, owner):
        await query.answer(t.gettext("Only the person who sent /forget can answer."), True)
        return
    if choice != "yes":
        await query.answer()
        await query.edit_message_text(t.gettext("OK, nothing was deleted."))
        return
    await query.answer(t.gettext("Deleting…"))
    removed = await svc.jobs.forget_user(owner)
    await svc.chat_state.forget_user(owner)
    styles = await svc.presets.delete_chat(owner) if owner > 0 else 0  # the styles saved in their private chat
    done = t.ngettext(
        "Done: I deleted your pictures, {n} picture from your history.",
        "Done: I deleted your pictures, {n} pictures from your history.",
        removed,
    )
    if styles:
        done += " " + t.ngettext("I also deleted {n} saved style.", "I also deleted {n} saved styles.", styles)
    await query.edit_message_text(done)


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): queue length, jobs today, median time."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    if not svc.settings.is_admin(user.id):
        await answer(msg, t.gettext("/stats is for the bot's admins."))
        return
    stats = await svc.jobs.stats()
    median = format_duration(stats.median_seconds, t) if stats.median_seconds is not None else t.gettext("n/a")
    lines = [
        t.gettext("<b>Queue</b>: {waiting} waiting, {running} painting", waiting=stats.queued, running=stats.running),
        t.ngettext(
            "<b>Last 24 h</b>: {n} job, {failed} failed",
            "<b>Last 24 h</b>: {n} jobs, {failed} failed",
            stats.jobs_today,
            failed=stats.failed_today,
        ),
        t.gettext("<b>Median time</b>: {time}", time=escape(median, quote=False)),
    ]
    await msg.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)
