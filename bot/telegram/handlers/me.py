"""/me: your queued and running pictures, today's count against the daily limit, and the storage you use."""

from __future__ import annotations

import asyncio
import math

from babel.numbers import format_decimal
from telegram import Update
from telegram.ext import ContextTypes

from jobs import keys
from jobs.identities import Platform
from jobs.models import JobState, JobStatus
from jobs.storage import Storage
from settings import Settings

from ...core.captions import style_label
from ...core.i18n import Translator
from ...core.progress import percent
from ..identity import requester_of, translator_of
from ..services import services
from .common import answer

MB = 1024 * 1024


async def on_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/me: what the bot is doing for you and what it keeps of yours."""
    msg, user = update.effective_message, requester_of(update)
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    mine = [j for j in await svc.jobs.active(Platform.TELEGRAM) if j.user_id == user.id]
    today = await svc.jobs.count_today(user.id)
    stored = await asyncio.to_thread(stored_bytes, svc.storage, keys.user_prefix(user.id))  # S3 listing blocks
    lines = [t.gettext("<b>Your pictures</b>")]
    lines += [job_line(j, t) for j in mine] or [t.gettext("Nothing in the queue.")]
    lines += [today_line(svc.settings, user.id, today, t), t.gettext("Stored: {size}", size=format_size(stored, t))]
    await answer(msg, "\n".join(lines))


def stored_bytes(storage: Storage, prefix: str) -> int:
    return sum(item.size for item in storage.objects(prefix))


def job_line(job: JobStatus, t: Translator) -> str:
    """`🖌 #12 mosaic · painting, 40%` or `⏳ #13 starry night · position 2 in the queue`."""
    style = style_label(job.style_name, t)
    if job.state == JobState.RUNNING:
        return t.gettext(
            "🖌 #{job} {style} · painting, {percent}", job=job.id, style=style, percent=percent(job.progress)
        )
    return t.gettext(
        "⏳ #{job} {style} · position {position} in the queue", job=job.id, style=style, position=job.position
    )


def today_line(settings: Settings, user_id: int, today: int, t: Translator) -> str:
    if settings.is_admin(user_id):
        return t.ngettext(
            "Today: {n} picture (no daily limit for admins)", "Today: {n} pictures (no daily limit for admins)", today
        )
    return t.ngettext(
        "Today: {count} of your {n} picture a day",
        "Today: {count} of your {n} pictures a day",
        settings.max_jobs_per_day,
        count=today,
    )


def format_size(size: int, t: Translator) -> str:
    """`0 KB`, `340 KB`, `12.5 MB` (the number in the reader's locale)."""
    if size < MB:
        return t.gettext("{size} KB", size=format_decimal(math.ceil(size / 1024), locale=t.locale))
    return t.gettext("{size} MB", size=format_decimal(round(size / MB, 1), locale=t.locale))
