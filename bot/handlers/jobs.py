"""Jobs after the request: /cancel and the Cancel button, result buttons, /history, /forget, /stats."""

from __future__ import annotations

import asyncio
import logging
import shutil
from html import escape
from pathlib import Path

from telegram import Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from jobs.models import ACTIVE_STATES, JobStatus

from ..captions import history_line
from ..keyboards import FORGET_PREFIX, REDO_PREFIX, RESULT_PREFIX, forget_keyboard, redo_keyboard
from ..params import varied
from ..progress import format_duration
from ..requests import Refused, check_quota, reply_to, submit
from ..services import Services, services
from .common import answer

log = logging.getLogger(__name__)


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: stop your queued and running jobs in this chat and drop your waiting photo."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    svc = services(context)
    mine = [j for j in await svc.q.active() if j.user_id == user.id and j.chat_id == msg.chat_id]
    cancelled = [j for j in mine if await svc.q.cancel(j.id)]
    dropped = await svc.st.clear_pending(msg.chat_id, user.id)
    if cancelled:
        await answer(msg, f"Cancelled {_pictures(len(cancelled))}.")
    elif dropped:
        await answer(msg, "OK, I forgot the photo you sent.")
    else:
        await answer(msg, "There is nothing to cancel.")


def _pictures(n: int) -> str:
    return "1 picture" if n == 1 else f"{n} pictures"


async def on_cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Cancel button on a status message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    status_msg = query.message
    job = next(
        (j for j in await svc.q.active() if j.chat_id == status_msg.chat_id and j.status_message_id == status_msg.id),
        None,
    )
    if job is None:
        await query.answer("That picture is already finished.")
        return
    if job.user_id != user.id and not svc.settings.is_admin(user.id):
        await query.answer("Only the person who asked for this picture can cancel it.", True)
        return
    if await svc.q.cancel(job.id):
        await query.answer("Cancelling…")
        try:
            await query.edit_message_caption("⏹ Cancelling…", reply_markup=None)
        except BadRequest:
            pass  # the delivery loop shows the final state anyway
    else:
        await query.answer("That picture is already finished.")


async def _own_job(update: Update, svc: Services, job_id_text: str) -> JobStatus | None:
    """The job named by a button, if it exists and belongs to the tapper (answers the query otherwise)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    job = await svc.q.status(int(job_id_text)) if job_id_text.isdigit() else None
    if job is None:
        await query.answer("I don't have that picture any more.", True)
        return None
    if job.user_id != user.id:
        await query.answer(f"Only {job.user_name or 'its owner'} can do that. Send your own photo!", True)
        return None
    return job


async def on_result_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stronger / Weaker / Keep colours / Full-size file under a result."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    action, _, job_id = query.data.removeprefix(RESULT_PREFIX).partition(":")
    job = await _own_job(update, svc, job_id)
    if job is None:
        return
    if action == "file":
        await _send_file(update, context, job)
        return
    await _redo(update, context, svc, job, action, reply_message_id=query.message.id)


async def _send_file(update: Update, context: ContextTypes.DEFAULT_TYPE, job: JobStatus) -> None:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    path = job.result_path
    if path is None or not await asyncio.to_thread(path.is_file):
        await query.answer("The full-size file is gone (it was deleted).", True)
        return
    await query.answer("Sending the file…")
    chat_id = query.message.chat_id
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    data = await asyncio.to_thread(path.read_bytes)
    await context.bot.send_document(
        chat_id,
        document=data,
        filename=f"stylebot-{job.id}{path.suffix or '.png'}",
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
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None and isinstance(query.message, Message)
    paths = [job.content_path, *job.style_paths]
    if job.content_path is None or not job.style_paths or not await asyncio.to_thread(_all_exist, paths):
        await query.answer("The original pictures are gone; please send them again.", True)
        return
    async with svc.lock(query.message.chat_id, user.id):
        try:
            await check_quota(svc, user.id)
        except Refused as exc:
            await query.answer(str(exc)[:200], True)
            return
        await query.answer("On it!")
        await submit(
            context.bot,
            svc,
            chat_id=query.message.chat_id,
            chat_type=query.message.chat.type,
            user=user,
            content=job.content_path,
            styles=job.style_paths,
            style_name=job.style_name,
            reply_message_id=reply_message_id,
            request_message_id=None,
            params=varied(job.params, action),
        )


def _all_exist(paths: list[Path | None]) -> bool:
    return all(p is not None and p.exists() for p in paths)


async def on_history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/history: your recent pictures, with Redo buttons."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    svc = services(context)
    jobs = await svc.q.history(user.id, limit=10)
    if not jobs:
        await answer(msg, "You haven't asked me for any pictures yet. Send a photo to start!")
        return
    lines = [history_line(j) for j in jobs]
    redoable = [j for j in jobs if j.state not in ACTIVE_STATES and j.content_path is not None][:6]
    await answer(msg, "<b>Your recent pictures</b>\n" + "\n".join(lines), reply_markup=redo_keyboard(redoable))


async def on_redo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Redo button from /history: the same pictures and settings again."""
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    job = await _own_job(update, svc, query.data.removeprefix(REDO_PREFIX))
    if job is not None:
        await _redo(update, context, svc, job, "same", reply_message_id=job.reply_to_message_id or job.message_id)


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: ask to delete all your pictures, history and settings."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    await answer(
        msg,
        "Delete all your pictures, your history and your settings? This can't be undone.",
        reply_markup=forget_keyboard(user.id),
    )


async def on_forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The /forget confirmation buttons."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    owner, _, choice = query.data.removeprefix(FORGET_PREFIX).partition(":")
    if owner != str(user.id):
        await query.answer("Only the person who sent /forget can answer.", True)
        return
    if choice != "yes":
        await query.answer()
        await query.edit_message_text("OK, nothing was deleted.")
        return
    svc = services(context)
    await query.answer("Deleting…")
    removed = await svc.q.forget_user(user.id)
    await svc.st.forget_user(user.id)
    await asyncio.to_thread(shutil.rmtree, svc.user_dir(user.id), True)
    await query.edit_message_text(f"Done: I deleted your pictures and {_pictures(removed)} from your history.")


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): queue length, jobs today, median time."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    svc = services(context)
    if not svc.settings.is_admin(user.id):
        await answer(msg, "/stats is for the bot's admins.")
        return
    stats = await svc.q.stats()
    median = format_duration(stats.median_seconds) if stats.median_seconds is not None else "n/a"
    await msg.reply_text(
        f"<b>Queue</b>: {stats.queued} waiting, {stats.running} painting\n"
        f"<b>Last 24 h</b>: {stats.jobs_today} jobs, {stats.failed_today} failed\n"
        f"<b>Median time</b>: {escape(median, quote=False)}",
        parse_mode=ParseMode.HTML,
    )
