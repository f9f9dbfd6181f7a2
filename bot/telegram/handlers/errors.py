"""Allow-list guard and the error handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ApplicationHandlerStop, ContextTypes

from ...core.limits import ACCESS_REFUSAL, is_allowed
from ..identity import translator_of
from ..services import services

log = logging.getLogger(__name__)


async def guard_access(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop updates from users and chats that are not on the allow-list (a refusal at most once an hour each)."""
    svc = services(context)
    user = update.effective_user
    chat = update.effective_chat
    if is_allowed(svc.settings, user.id if user else None, chat.id if chat else None):
        return
    if not svc.refusals.due((user.id if user else 0, chat.id if chat else 0)):
        raise ApplicationHandlerStop  # told within the hour: stay quiet
    refusal = translator_of(update)(ACCESS_REFUSAL)
    if update.callback_query is not None:
        await update.callback_query.answer(refusal, show_alert=True)
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=60, is_personal=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(refusal)
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error and, when a user is waiting for an answer, say that something went wrong."""
    if isinstance(context.error, Forbidden):
        log.info("update %s: the bot can't write to this chat (%s)", getattr(update, "update_id", "?"), context.error)
        return
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None and update.callback_query is None:
        try:
            t = translator_of(update)
            await update.effective_message.reply_text(
                t.gettext("Sorry, something went wrong on my side. Please try again.")
            )
        except Exception:  # the error may be that we can't send at all
            log.debug("could not report the error to the chat", exc_info=True)
