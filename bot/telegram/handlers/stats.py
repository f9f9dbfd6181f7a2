"""/stats, for the bot's admins."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from ...core.progress import format_duration
from ..identity import requester_of, translator_of
from ..services import services
from .common import answer


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
