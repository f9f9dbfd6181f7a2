"""/history and its Redo buttons."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from jobs.models import ACTIVE_STATES

from ..captions import history_line
from ..i18n import translator_of
from ..identity import requester_of
from ..keyboards import REDO_PREFIX, redo_keyboard
from ..services import services
from .common import answer
from .results import own_job, redo


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
    job = await own_job(update, context, query.data.removeprefix(REDO_PREFIX))
    if job is not None:
        await redo(update, context, svc, job, "same", reply_message_id=job.reply_to_message_id or job.message_id)
