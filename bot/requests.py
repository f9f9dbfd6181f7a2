"""Turning a chat request into a job: fetch the pictures, check quotas, enqueue, post the status message."""

from __future__ import annotations

import asyncio
import difflib
import logging
from dataclasses import replace

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode

from jobs import keys
from jobs.models import JobParams, LimitReached, NewJob, Preset
from jobs.storage import MissingFile
from sketch import SketchBusy

from .captions import queued_text
from .i18n import N_, OneOf, Text, Translator, translator
from .identity import Requester
from .images import BadImage, download, sketch_input_bytes, thumbnail_bytes
from .keyboards import cancel_keyboard, preset_keyboard
from .limits import ImageRef, image_refusal, job_limits, limit_refusal, quota_refusal, upload_cap
from .params import job_params
from .parsing import preset_key
from .services import Services

log = logging.getLogger(__name__)

SKETCHES_BUSY = N_("Too many sketches are being drawn right now; please try again in a minute.")
SUGGESTED_PRESETS = 10  # an unknown style name with no close match offers this many styles as buttons


class Refused(Exception):
    """A request that can't go ahead; `text` is the one message the user gets (str(exc): in English, for logs),
    with `keyboard` under it when it offers a way on (e.g. the styles there are, as buttons)."""

    def __init__(self, text: Text, keyboard: InlineKeyboardMarkup | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.keyboard = keyboard

    def say(self, t: Translator) -> str:
        """The message in the reader's language (plain text: escape it for HTML)."""
        return t(self.text)


def reply_to(message_id: int) -> ReplyParameters:
    """Reply to a message, but still send when it was deleted meanwhile."""
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def check_quota(svc: Services, user_id: int) -> None:
    """Raise Refused when the user may not start another job now."""
    refusal = await quota_refusal(svc.settings, svc.jobs, user_id)
    if refusal:
        raise Refused(refusal)


async def fetch(bot: Bot, svc: Services, user_id: int, ref: ImageRef) -> str:
    """Download (or reuse) a picture for a painting into the storage; its key. Refused for files that can't be
    used, and before any download when the user may not start a painting now (quotas, a full queue) or has had
    their day's bytes of pictures stored (STYLEBOT_MAX_UPLOAD_BYTES_PER_DAY: checked again, atomically, before the
    picture is stored). The picture is decoded once, here; its thumbnail is kept for the status message."""
    refusal = image_refusal(ref)
    if refusal:
        raise Refused(refusal)
    await check_quota(svc, user_id)
    key = keys.upload_key(user_id, ref.file_unique_id, ref.suffix)
    if await asyncio.to_thread(svc.storage.exists, key):
        return key
    cap = upload_cap(svc.settings, user_id)
    if cap is not None:
        used = await svc.chat_state.uploaded_today(user_id)
        if used + (ref.file_size or 0) > cap:
            raise Refused(limit_refusal(LimitReached("uploads", used, cap)))
    try:
        checked = await download(bot, ref, svc.decodes)
        await svc.chat_state.record_upload(user_id, len(checked.data), max_bytes=cap)
    except BadImage as exc:
        raise Refused(exc.text) from exc
    except LimitReached as exc:
        raise Refused(limit_refusal(exc)) from exc
    await asyncio.to_thread(svc.storage.put, key, checked.data)
    svc.thumbnails.put(key, checked.thumbnail)
    svc.sketch_inputs.put(key, checked.sketch_input)
    return key


async def sketch_input(svc: Services, key: str) -> bytes:
    """The stored picture at most SKETCH_SIDE a side: the copy made when it was fetched, else decoded now."""
    cached = svc.sketch_inputs.get(key)
    if cached is not None:
        return cached
    picture = await svc.read_picture(key)
    if picture is None:
        raise MissingFile(key)
    made = await svc.decodes.run(sketch_input_bytes, picture)
    svc.sketch_inputs.put(key, made)
    return made


async def sketch_first(bot: Bot, svc: Services, job: NewJob, reply_message_id: int) -> None:
    """The instant sketch of the job's photo in its (first) style (STYLEBOT_SKETCH): sent to the chat before the
    job is queued, unless it takes longer than its head start (bot.sketches.HEAD_START_S)."""
    if svc.sketches is None:
        return

    async def load() -> tuple[bytes, bytes]:
        return await sketch_input(svc, job.content_key), await sketch_input(svc, job.style_keys[0])

    async def send(jpeg: bytes) -> None:
        caption = translator(job.language).gettext("✏️ A quick sketch while I paint your picture.")
        await bot.send_photo(job.chat_id, photo=jpeg, caption=caption, reply_parameters=reply_to(reply_message_id))

    await svc.sketches.start(load, send, request=f"{job.chat_id}:{reply_message_id}")


async def thumbnail(svc: Services, key: str) -> bytes:
    """The stored picture's thumbnail: the one made when it was fetched, else decoded now (through the gate)."""
    thumb = svc.thumbnails.get(key)
    if thumb is not None:
        return thumb
    picture = await svc.read_picture(key)
    if picture is None:
        raise Refused(N_("I no longer have that photo; please send it again."))
    thumb = await svc.decodes.run(thumbnail_bytes, picture)
    svc.thumbnails.put(key, thumb)
    return thumb


async def find_preset(svc: Services, name: str, chat_id: int, *, owner_id: int | None = None) -> Preset:
    """The named preset for this chat; Refused lists close names when there is none, or else (given the `owner_id`
    whose waiting photo the buttons paint) offers up to SUGGESTED_PRESETS of the chat's styles as buttons."""
    key = preset_key(name)
    preset = await svc.presets.get(key, chat_id) if key else None
    if preset is not None:
        return preset
    presets = await svc.presets.list(chat_id)
    close = difflib.get_close_matches(key, [p.name for p in presets], n=3, cutoff=0.5)
    if close:
        # TRANSLATORS: how a style's name is quoted in a list of names.
        quoted = [N_("“{name}”", name=c) for c in close]
        # TRANSLATORS: names is one or more quoted style names, e.g. “mosaic” or “starry_night”.
        text = N_(
            "I don't know a style called “{name}”. Did you mean {names}? /presets shows them all.",
            name=name,
            names=OneOf(quoted),
        )
        raise Refused(text)
    keyboard = preset_keyboard(presets[:SUGGESTED_PRESETS], owner_id) if owner_id is not None else None
    if keyboard is None:
        raise Refused(N_("I don't know a style called “{name}”. /presets shows them all.", name=name))
    raise Refused(
        N_("I don't know a style called “{name}”. Pick one of these, or see them all with /presets.", name=name),
        keyboard,
    )


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
        _posted(svc, result.job_id, status.caption or "")
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
    _posted(svc, result.job_id, status.caption or "")
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
    """Answer with the instant sketch alone: no painting, no queue; it counts toward the user's daily limit."""
    assert svc.sketches is not None
    try:
        await svc.jobs.count_sketch_only(user.id, job_limits(svc.settings, user.id))
    except LimitReached as exc:
        raise Refused(limit_refusal(exc)) from exc
    try:
        jpeg = await svc.sketches.paint(await sketch_input(svc, content), await sketch_input(svc, styles[0]))
    except SketchBusy as exc:
        raise Refused(SKETCHES_BUSY) from exc
    caption = translator(user.language).gettext("✏️ Your sketch. (Sketch only is on: /settings to get paintings.)")
    await bot.send_photo(chat_id, photo=jpeg, caption=caption, reply_parameters=reply_to(reply_message_id))


def _posted(svc: Services, job_id: int, text: str) -> None:
    if svc.on_status_posted is not None:
        svc.on_status_posted(job_id, text)


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
