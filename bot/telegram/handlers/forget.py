"""/forget and its confirmation buttons."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from ...core.account import FORGET_QUESTION, forget_user
from ..identity import requester_of, translator_of
from ..keyboards import FORGET_PREFIX, forget_keyboard
from ..services import services
from .common import answer


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
    # The styles saved in their private chat (whose id is theirs) go too.
    done = await forget_user(svc, owner, owner if owner > 0 else None, t)
    await query.edit_message_text(done)
