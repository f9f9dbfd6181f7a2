"""/history and its Redo buttons."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from jobs.models import ACTIVE_STATES

from ...core.captions import history_line
from ..identity import requester_of, translator_of
from ..keyboards import REDO_PREFIX, redo_keyboard
from ..services import services
from .buttons import PICTURE_GONE, refuse
from .common import answer
from .results import may_act_on, redo


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
    # A Redo paints in the chat it is tapped in, so only this chat's pictures get one.
    redoable = [
        j for j in jobs if j.state not in ACTIVE_STATES and j.content_key is not None and j.chat_id == msg.chat_id
    ][:6]
    await answer(msg, "\n".join(lines), reply_markup=redo_keyboard(redoable, t))


async def on_redo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Redo button from /history: the same pictures and settings again."""
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    svc = services(context)
    job_id = query.data.removeprefix(REDO_PREFIX)
    job = await svc.jobs.status(int(job_id)) if job_id.isdigit() else None
    if job is None:
        await query.answer(translator_of(update)(PICTURE_GONE), True)
        return
    # A /history message lists its requester's own pictures of this chat: the job must be of this chat, and the
    # tapper its owner or someone who may act for them here.
    if job.chat_id != query.message.chat_id:
        await refuse(update)
        return
    if await may_act_on(update, context, job):
        await redo(update, context, svc, job, "same", reply_message_id=job.reply_to_message_id or job.message_id)
