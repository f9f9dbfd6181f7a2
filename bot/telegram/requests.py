"""Turning a Telegram request into a job: fetch the pictures, check quotas (bot.core.requests), enqueue, post the
status message and the instant sketch."""

from __future__ import annotations

from dataclasses import replace

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode

from jobs.models import JobParams, LimitReached, NewJob, Preset

from ..core import requests as core
from ..core.captions import queued_text
from ..core.i18n import translator
from ..core.identity import Requester
from ..core.limits import ImageRef, job_limits, limit_refusal
from ..core.params import job_params
from ..core.requests import SKETCH_ALONE_CAPTION, Refused, posted, sketch_alone, sketch_input, store_picture, thumbnail
from ..core.services import Services
from .images import download
from .keyboards import cancel_keyboard, preset_keyboard


def reply_to(message_id: int) -> ReplyParameters:
    """Reply to a message, but still send when it was deleted meanwhile."""
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def fetch(bot: Bot, svc: Services, user_id: int, ref: ImageRef) -> str:
    """Download (or reuse) a picture from Telegram for a painting into the storage; its key (the checks and quotas:
    bot.core.requests.store_picture)."""
    return await store_picture(svc, user_id, ref, lambda picture: download(bot, picture, svc.decodes))


async def find_preset(svc: Services, name: str, chat_id: int, *, owner_id: int | None = None) -> Preset:
    """The named preset for this chat; Refused lists close names when there is none, or else (given the `owner_id`
    whose waiting photo the buttons paint) offers up to SUGGESTED_PRESETS of the chat's styles as buttons."""

    def offer(presets: list[Preset]) -> InlineKeyboardMarkup | None:
        assert owner_id is not None
        return preset_keyboard(presets, owner_id)

    return await core.find_preset(svc, name, chat_id, offer=offer if owner_id is not None else None)


async def sketch_first(bot: Bot, svc: Services, job: NewJob, reply_message_id: int) -> None:
    """The instant sketch of the job's photo in its (first) style (STYLEBOT_SKETCH): sent to the chat before the
    job is queued, unless it takes longer than its head start (bot.core.sketches)."""
    if svc.sketches is None:
        return

    async def load() -> tuple[bytes, bytes]:
        return await sketch_input(svc, job.content_key), await sketch_input(svc, job.style_keys[0])

    async def send(jpeg: bytes) -> None:
        caption = translator(job.language).gettext("✏️ A quick sketch while I paint your picture.")
        await bot.send_photo(job.chat_id, photo=jpeg, caption=caption, reply_parameters=reply_to(reply_message_id))

    await svc.sketches.start(load, send, request=f"{job.chat_id}:{reply_message_id}")


async def submit(
    bot: Bot,
    svc: Services,
    *,
    chat_id: int,
    chat_type: str,
    user: Requester,
    content: str,
    styles: tuple[str, ...],
    style_name: str,
    reply_message_id: int,
    request_message_id: int | None,
    params: JobParams | None = None,
) -> int | None:
    """Enqueue the job and post its status message; returns the job id (None: the user's /settings ask for a
    sketch alone, which was sent instead).

    A request from a user's message is enqueued under that message (so a re-delivered update never
    makes a second job); one from a button has no message of its own, so its status message is posted
    first and the job is recorded under that. A variation of a result (`params` given) is always painted.
    """
    if params is None:
        preferences = await svc.preferences.get(user.id)
        if preferences.sketch_only and svc.sketches is not None:
            await sketch_only(bot, svc, chat_id, user, content, styles, reply_message_id)
            return None
        params = job_params(preferences, svc.settings)
    job = NewJob(
        chat_id=chat_id,
        user_id=user.id,
        message_id=request_message_id or 0,
        content_key=content,
        style_keys=styles,
        params=params,
        style_name=style_name,
        user_name=user.name,
        language=user.language,
        chat_type=chat_type,
        reply_to_message_id=reply_message_id,
    )
    thumb = await thumbnail(svc, content)
    limits = job_limits(svc.settings, user.id)
    if request_message_id is None:
        status = await _send_status(
            bot, chat_id, thumb, queued_text(None, style_name, user.language), user.language, reply_message_id
        )
        job = replace(job, message_id=status.id)
        await sketch_first(bot, svc, job, reply_message_id)
        try:
            result = await svc.jobs.enqueue(job, limits)
        except LimitReached as exc:  # requests sent at once got past the early check: this one is turned away
            await status.delete()
            raise Refused(limit_refusal(exc)) from exc
        await svc.jobs.set_status_message(result.job_id, status.id)
        posted(svc, result.job_id, status.caption or "")
        return result.job_id
    if not await svc.jobs.recorded(chat_id, request_message_id):  # a re-delivered update gets no second sketch
        await sketch_first(bot, svc, job, reply_message_id)
    try:
        result = await svc.jobs.enqueue(job, limits)
    except LimitReached as exc:
        raise Refused(limit_refusal(exc)) from exc
    if not result.created:
        existing = await svc.jobs.status(result.job_id)
        if existing is not None and existing.status_message_id is not None:
            return result.job_id
    status = await _send_status(
        bot, chat_id, thumb, queued_text(result.position, style_name, user.language), user.language, reply_message_id
    )
    await svc.jobs.set_status_message(result.job_id, status.id)
    posted(svc, result.job_id, status.caption or "")
    return result.job_id


async def sketch_only(
    bot: Bot,
    svc: Services,
    chat_id: int,
    user: Requester,
    content: str,
    styles: tuple[str, ...],
    reply_message_id: int,
) -> None:
    """Answer with the instant sketch alone (bot.core.requests.sketch_alone)."""
    jpeg = await sketch_alone(svc, user.id, content, styles)
    caption = translator(user.language)(SKETCH_ALONE_CAPTION)
    await bot.send_photo(chat_id, photo=jpeg, caption=caption, reply_parameters=reply_to(reply_message_id))


async def _send_status(
    bot: Bot, chat_id: int, thumb: bytes, text: str, language: str, reply_message_id: int
) -> Message:
    return await bot.send_photo(
        chat_id,
        photo=thumb,
        caption=text,
        parse_mode=ParseMode.HTML,
        reply_parameters=reply_to(reply_message_id),
        reply_markup=cancel_keyboard(language),
    )
