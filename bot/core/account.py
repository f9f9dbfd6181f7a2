"""What a user has with the bot, whatever the chat: /me (queue, today's count, storage) and /forget (delete it)."""

from __future__ import annotations

import asyncio
import logging
import math

from babel.numbers import format_decimal

from jobs import keys
from jobs.bot_queue import ForgetIncomplete
from jobs.identities import Platform
from jobs.models import JobState, JobStatus
from jobs.retention import ORPHAN_GRACE_S
from jobs.storage import Storage
from settings import Settings

from .captions import style_label
from .i18n import N_, Translator
from .progress import percent
from .services import Services

log = logging.getLogger(__name__)

MB = 1024 * 1024

FORGET_QUESTION = N_(
    "Delete all your pictures, your history, your settings and the styles you saved in our private chat? "
    "This can't be undone. (Your count of pictures today stays, so the daily limit still holds; styles you "
    "saved in a group stay with the group.)"
)


async def me_text(svc: Services, platform: Platform, user_id: int, t: Translator) -> str:
    """/me: the user's queued and running pictures (of this platform), today's count, the storage they use."""
    mine = [j for j in await svc.jobs.active(platform) if j.user_id == user_id]
    today = await svc.jobs.count_today(user_id)
    stored = await asyncio.to_thread(stored_bytes, svc.storage, keys.user_prefix(user_id))  # S3 listing blocks
    lines = [t.gettext("<b>Your pictures</b>")]
    lines += [job_line(j, t) for j in mine] or [t.gettext("Nothing in the queue.")]
    lines += [today_line(svc.settings, user_id, today, t), t.gettext("Stored: {size}", size=format_size(stored, t))]
    return "\n".join(lines)


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


async def forget_user(svc: Services, user_id: int, private_chat: int | None, t: Translator) -> str:
    """/forget confirmed: cancel and delete the user's jobs and pictures, their settings and waiting photos, and the
    styles saved in their private chat with the bot (`private_chat`, None: none); what was done, to tell them."""
    left = ""
    try:  # cancels their paintings first, so no worker writes a picture of theirs afterwards
        removed = await svc.jobs.forget_user(user_id)
    except ForgetIncomplete as exc:
        log.warning("forget user %s: pictures left for the retention sweep: %s", user_id, exc)
        removed = exc.removed
        hours = math.ceil(svc.settings.prune_interval_s / 3600 + ORPHAN_GRACE_S / 3600)
        left = t.ngettext(
            "The storage refused to delete some of them just now; they will be deleted within {n} hour.",
            "The storage refused to delete some of them just now; they will be deleted within {n} hours.",
            hours,
        )
    await svc.chat_state.forget_user(user_id)
    styles = await svc.presets.delete_chat(private_chat) if private_chat is not None else 0
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
    return done
