"""/forget and its confirmation buttons."""

from __future__ import annotations

import logging
import math

from telegram import Message, Update
from telegram.ext import ContextTypes

from jobs.bot_queue import ForgetIncomplete
from jobs.retention import ORPHAN_GRACE_S

from ...core.i18n import N_
from ..identity import requester_of, translator_of
from ..keyboards import FORGET_PREFIX, forget_keyboard
from ..services import services
from .common import answer

log = logging.getLogger(__name__)

FORGET_QUESTION = N_(
    "Delete all your pictures, your history, your settings and the styles you saved in our private chat? "
    "This can't be undone. (Your count of pictures today stays, so the daily limit still holds; styles you "
    "saved in a group stay with the group.)"
)


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
    left = ""
    try:  # cancels their paintings first, so no worker writes a picture of theirs afterwards
        removed = await svc.jobs.forget_user(owner)
    except ForgetIncomplete as exc:
        log.warning("forget user %s: pictures left for the retention sweep: %s", owner, exc)
        removed = exc.removed
        hours = math.ceil(svc.settings.prune_interval_s / 3600 + ORPHAN_GRACE_S / 3600)
        left = t.ngettext(
            "The storage refused to delete some of them just now; they will be deleted within {n} hour.",
            "The storage refused to delete some of them just now; they will be deleted within {n} hours.",
            hours,
        )
    await svc.chat_state.forget_user(owner)
    styles = await svc.presets.delete_chat(owner) if owner > 0 else 0  # the styles saved in their private chat
    if left:
        done = t.ngettext(
            "I deleted {n} picture from your history and your settings, but not all your pictures yet.",
            "I deleted {n} pictures from your history and your settings, but not all your pictures yet.",
            removed,
        )
        done += " " + left
    else:
        done = t.ngettext(
            "Done: I deleted your pictures, {n} picture from your history.",
            "Done: I deleted your pictures, {n} pictures from your history.",
            removed,
        )
    if styles:
        done += " " + t.ngettext("I also deleted {n} saved style.", "I also deleted {n} saved styles.", styles)
    await query.edit_message_text(done)
