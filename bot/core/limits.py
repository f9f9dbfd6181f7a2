"""Checks made before any work is done: who may use the bot, per-user quotas, what a file may be."""

from __future__ import annotations

from dataclasses import dataclass

from imaging import SUFFIX_BY_MIME_TYPE
from jobs.interface import BotQueue
from jobs.models import JobLimits, LimitKind, LimitReached
from settings import Settings

from .i18n import N_, NP_, Text

# Bots may download files of at most 20 MB through the Bot API.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MB = 1024 * 1024
# A document is taken as a picture when Telegram reports one of imaging's MIME types.
IMAGE_MIME_TYPES = frozenset(SUFFIX_BY_MIME_TYPE)


@dataclass(frozen=True)
class ImageRef:
    """A picture in a message, known only by its file ids (Telegram's) until it is downloaded."""

    file_id: str
    file_unique_id: str
    file_size: int | None
    mime_type: str | None
    kind: str  # "photo" or "document"
    message_id: int

    @property
    def suffix(self) -> str:
        return SUFFIX_BY_MIME_TYPE.get(self.mime_type or "image/jpeg", ".jpg")


def image_refusal(ref: ImageRef) -> Text | None:
    """Why this file can't be used (checked before downloading), or None."""
    if ref.file_size is not None and ref.file_size > MAX_DOWNLOAD_BYTES:
        return N_(
            "That file is {size} MB; I can only fetch files up to 20 MB. Please send a smaller picture.",
            size=round(ref.file_size / 1024 / 1024),
        )
    if ref.kind == "document" and (ref.mime_type or "").lower() not in IMAGE_MIME_TYPES:
        if ref.mime_type:
            return N_(
                "I can only paint pictures (JPEG, PNG, WebP, BMP, TIFF or GIF), not {type} files.", type=ref.mime_type
            )
        return N_("I can only paint pictures (JPEG, PNG, WebP, BMP, TIFF or GIF), not files of an unknown type.")
    return None


def is_allowed(settings: Settings, user_id: int | None, chat_id: int | None) -> bool:
    """True when no allow-list is set, or the user or the chat is on one (admins always are)."""
    if not settings.allowed_users and not settings.allowed_chats:
        return True
    if user_id is not None and (user_id in settings.allowed_users or settings.is_admin(user_id)):
        return True
    return chat_id is not None and chat_id in settings.allowed_chats


ACCESS_REFUSAL = N_("Sorry, this bot is private. Ask its owner to add you.")


def job_limits(settings: Settings, user_id: int) -> JobLimits:
    """The limits a new job of this user is counted against where it is inserted (admins: only the queue cap)."""
    if settings.is_admin(user_id):
        return JobLimits(settings.max_queue)
    return JobLimits(settings.max_queue, settings.max_queued_per_user, settings.max_jobs_per_day)


def upload_cap(settings: Settings, user_id: int) -> int | None:
    """The bytes of pictures the user may have stored a day (None: admins, unlimited)."""
    return None if settings.is_admin(user_id) else settings.max_upload_bytes_per_day


def limit_refusal(reached: LimitReached) -> Text:
    """What the user reads when a limit holds, whether the early check or the insert found it."""
    if reached.kind == LimitKind.WAITING:
        return NP_(
            "I'm very busy right now: {n} picture is waiting. Please try again in a few minutes.",
            "I'm very busy right now: {n} pictures are waiting. Please try again in a few minutes.",
            reached.count,
        )
    if reached.kind == LimitKind.ACTIVE:
        return NP_(
            "You already have {n} picture in the queue (the limit is {limit}). "
            "Please wait for it to finish, or /cancel it.",
            "You already have {n} pictures in the queue (the limit is {limit}). "
            "Please wait for one to finish, or /cancel one.",
            reached.count,
            limit=reached.limit,
        )
    if reached.kind == LimitKind.DAILY:
        return NP_(
            "You have reached today's limit of {n} picture. Please come back tomorrow.",
            "You have reached today's limit of {n} pictures. Please come back tomorrow.",
            reached.limit,
        )
    if reached.kind == LimitKind.PRESETS:
        return NP_(
            "This chat already has {n} style, the most it can keep. Delete it first with /deletestyle <name>.",
            "This chat already has {n} styles, the most it can keep. Delete one first with /deletestyle <name>.",
            reached.limit,
        )
    # TRANSLATORS: used and limit are in megabytes.
    return N_(
        "You have sent {used} MB of pictures today; I can keep at most {limit} MB a day for each person. "
        "Please come back tomorrow.",
        used=max(1, round(reached.count / MB)),
        limit=round(reached.limit / MB),
    )


async def quota_refusal(settings: Settings, queue: BotQueue, user_id: int) -> Text | None:
    """Why the user may not start another job now (the queue is full, or their queued-jobs or daily limit), or
    None. The fast check before anything is downloaded; the insert (`BotQueue.enqueue`) is the authority."""
    limits = job_limits(settings, user_id)
    waiting = await queue.count_waiting()
    if waiting >= limits.max_waiting:
        return limit_refusal(LimitReached(LimitKind.WAITING, waiting, limits.max_waiting))
    if limits.max_active is not None:
        active = await queue.count_active(user_id)
        if active >= limits.max_active:
            return limit_refusal(LimitReached(LimitKind.ACTIVE, active, limits.max_active))
    if limits.max_per_day is not None:
        today = await queue.count_today(user_id)
        if today >= limits.max_per_day:
            return limit_refusal(LimitReached(LimitKind.DAILY, today, limits.max_per_day))
    return None
