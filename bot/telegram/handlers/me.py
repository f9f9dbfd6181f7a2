"""/me: your queued and running pictures, today's count against the daily limit, and the storage you use."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from jobs.identities import Platform

from ...core.account import format_size, job_line, me_text, stored_bytes, today_line
from ..identity import requester_of, translator_of
from ..services import services
from .common import answer

__all__ = ["format_size", "job_line", "on_me", "stored_bytes", "today_line"]  # the helpers moved to bot.core


async def on_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/me: what the bot is doing for you and what it keeps of yours."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    await answer(msg, await me_text(services(context), Platform.TELEGRAM, user.id, translator_of(update)))
