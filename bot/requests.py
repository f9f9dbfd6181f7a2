"""Turning a chat request into a job: fetch the pictures, check quotas, enqueue, post the status message."""

from __future__ import annotations

import asyncio
import difflib
import logging
from dataclasses import replace
from pathlib import Path

from telegram import Bot, Message, ReplyParameters, User
from telegram.constants import ParseMode

from jobs.models import JobParams, NewJob, Preset

from .captions import queued_text
from .images import BadImage, fetch_image, thumbnail_bytes
from .keyboards import cancel_keyboard
from .limits import ImageRef, image_refusal, quota_refusal
from .params import job_params
from .parsing import preset_key
from .services import Services

log = logging.getLogger(__name__)


class Refused(Exception):
    """A request that can't go ahead; str(exc) is the one message the user gets."""


def reply_to(message_id: int) -> ReplyParameters:
    """Reply to a message, but still send when it was deleted meanwhile."""
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def check_quota(svc: Services, user_id: int) -> None:
    """Raise Refused when the user may not start another job now."""
    refusal = await quota_refusal(svc.settings, svc.q, user_id)
    if refusal:
        raise Refused(refusal)


async def fetch(bot: Bot, svc: Services, user_id: int, ref: ImageRef, path: Path | None = None) -> Path:
    """Download (or reuse) the user's picture; raise Refused for files that can't be used."""
    refusal = image_refusal(ref)
    if refusal:
        raise Refused(refusal)
    if path is None:
        path = svc.upload_path(user_id, ref.file_unique_id, ref.suffix)
    try:
        return await fetch_image(bot, ref, path)
    except BadImage as exc:
        raise Refused(str(exc)) from exc


async def find_preset(svc: Services, name: str, chat_id: int) -> Preset:
    """The named preset for this chat; Refused lists close names when there is none."""
    key = preset_key(name)
    preset = await svc.p.get(key, chat_id) if key else None
    if preset is not None:
        return preset
    names = [p.name for p in await svc.p.list(chat_id)]
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    text = f"I don't know a style called “{name}”."
    if close:
        text += " Did you mean " + " or ".join(f"“{c}”" for c in close) + "?"
    text += " /presets shows them all."
    raise Refused(text)


def display_name(user: User) -> str:
    return user.full_name or (user.username or str(user.id))


async def submit(
    bot: Bot,
    svc: Services,
    *,
    chat_id: int,
    chat_type: str,
    user: User,
    content: Path,
    styles: tuple[Path, ...],
    style_name: str,
    reply_message_id: int,
    request_message_id: int | None,
    params: JobParams | None = None,
) -> int:
    """Enqueue the job and post its status message; returns the job id.

    A request from a user's message is enqueued under that message (so a re-delivered update never
    makes a second job); one from a button has no message of its own, so its status message is posted
    first and the job is recorded under that.
    """
    if params is None:
        params = job_params(await svc.us.get(user.id), svc.settings)
    job = NewJob(
        chat_id=chat_id,
        user_id=user.id,
        message_id=request_message_id or 0,
        content_path=content,
        style_paths=styles,
        params=params,
        style_name=style_name,
        user_name=display_name(user),
        chat_type=chat_type,
        reply_to_message_id=reply_message_id,
    )
    thumb = await asyncio.to_thread(thumbnail_bytes, content)
    if request_message_id is None:
        status = await _send_status(bot, chat_id, thumb, queued_text(None, style_name), reply_message_id)
        job = replace(job, message_id=status.id)
        result = await svc.q.enqueue(job)
        await svc.q.set_status_message(result.job_id, status.id)
        _posted(svc, result.job_id, status.caption or "")
        return result.job_id
    result = await svc.q.enqueue(job)
    if not result.created:
        existing = await svc.q.status(result.job_id)
        if existing is not None and existing.status_message_id is not None:
            return result.job_id
    status = await _send_status(bot, chat_id, thumb, queued_text(result.position, style_name), reply_message_id)
    await svc.q.set_status_message(result.job_id, status.id)
    _posted(svc, result.job_id, status.caption or "")
    return result.job_id


def _posted(svc: Services, job_id: int, text: str) -> None:
    if svc.on_status_posted is not None:
        svc.on_status_posted(job_id, text)


async def _send_status(bot: Bot, chat_id: int, thumb: bytes, text: str, reply_message_id: int) -> Message:
    return await bot.send_photo(
        chat_id,
        photo=thumb,
        caption=text,
        parse_mode=ParseMode.HTML,
        reply_parameters=reply_to(reply_message_id),
        reply_markup=cancel_keyboard(),
    )
