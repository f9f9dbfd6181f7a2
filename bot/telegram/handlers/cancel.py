"""/cancel and the Cancel button on a status message."""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from jobs.identities import Platform

from ...core.i18n import translator
from ..identity import requester_of, translator_of
from ..services import services
from .common import answer


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: stop your queued and running jobs in this chat and drop your waiting photo."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    mine = [j for j in await svc.jobs.active(Platform.TELEGRAM) if j.user_id == user.id and j.chat_id == msg.chat_id]
    cancelled = [j for j in mine if await svc.jobs.cancel(j.id)]
    dropped = await svc.chat_state.clear_pending(msg.chat_id, user.id)
    if cancelled:
        await answer(msg, t.ngettext("Cancelled {n} picture.", "Cancelled {n} pictures.", len(cancelled)))
    elif dropped:
        await answer(msg, t.gettext("OK, I forgot the photo you sent."))
    else:
        await answer(msg, t.gettext("There is nothing to cancel."))


async def on_cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Cancel button on a status message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not isinstance(query.message, Message):
        return
    svc, t = services(context), translator_of(update)
    status_msg = query.message
    active = await svc.jobs.active(Platform.TELEGRAM)
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
