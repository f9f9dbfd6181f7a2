"""Taking in a chat request, whatever the chat: check quotas, store the pictures (decoded once), find the preset.
Sending to the chat (the status message, the sketch) is the front end's (bot.telegram.requests)."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable
from typing import Any

from jobs import keys
from jobs.models import LimitKind, LimitReached, Preset
from jobs.storage import MissingFile
from sketch import SketchBusy

from .i18n import N_, OneOf, Text, Translator
from .images import BadImage, Checked, JpegCache, sketch_input_bytes, thumbnail_bytes
from .limits import ImageRef, image_refusal, job_limits, limit_refusal, quota_refusal, upload_cap
from .parsing import preset_key
from .services import Services

SKETCHES_BUSY = N_("Too many sketches are being drawn right now; please try again in a minute.")
SUGGESTED_PRESETS = 10  # an unknown style name with no close match offers this many styles as buttons


class Refused(Exception):
    """A request that can't go ahead; `text` is the one message the user gets (str(exc): in English, for logs),
    with `keyboard` under it when it offers a way on (e.g. the styles there are, as buttons: the front end's own
    markup, an InlineKeyboardMarkup on Telegram)."""

    def __init__(self, text: Text, keyboard: Any = None) -> None:
        super().__init__(text)
        self.text = text
        self.keyboard = keyboard

    def say(self, t: Translator) -> str:
        """The message in the reader's language (plain text: escape it for HTML)."""
        return t(self.text)


async def check_quota(svc: Services, user_id: int) -> None:
    """Raise Refused when the user may not start another job now."""
    refusal = await quota_refusal(svc.settings, svc.jobs, user_id)
    if refusal:
        raise Refused(refusal)


async def store_picture(
    svc: Services, user_id: int, ref: ImageRef, download: Callable[[ImageRef], Awaitable[Checked]]
) -> str:
    """Download (or reuse) a picture for a painting into the storage; its key. Refused for files that can't be
    used, and before any download when the user may not start a painting now (quotas, a full queue) or has had
    their day's bytes of pictures stored (STYLEBOT_MAX_UPLOAD_BYTES_PER_DAY: checked again, atomically, before the
    picture is stored). The picture is decoded once, by `download`; its thumbnail is kept for the status message."""
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
            raise Refused(limit_refusal(LimitReached(LimitKind.UPLOADS, used, cap)))
    try:
        checked = await download(ref)
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
    made = await _small_copy(svc, svc.sketch_inputs, key, sketch_input_bytes)
    if made is None:
        raise MissingFile(key)
    return made


async def thumbnail(svc: Services, key: str) -> bytes:
    """The stored picture's thumbnail: the one made when it was fetched, else decoded now (through the gate)."""
    thumb = await _small_copy(svc, svc.thumbnails, key, thumbnail_bytes)
    if thumb is None:
        raise Refused(N_("I no longer have that photo; please send it again."))
    return thumb


async def _small_copy(
    svc: Services, cache: JpegCache, key: str, make: Callable[[bytes], bytes]
) -> bytes | None:
    """A small JPEG of the stored picture from `cache`, else made now through the decode gate and kept; None when
    the picture is gone."""
    cached = cache.get(key)
    if cached is not None:
        return cached
    picture = await svc.read_picture(key)
    if picture is None:
        return None
    made = await svc.decodes.run(make, picture)
    cache.put(key, made)
    return made


async def find_preset(
    svc: Services, name: str, chat_id: int, *, offer: Callable[[list[Preset]], Any] | None = None
) -> Preset:
    """The named preset for this chat; Refused lists close names when there is none, or else (given `offer`, which
    makes the front end's buttons for some of the chat's styles, or None) offers up to SUGGESTED_PRESETS of them."""
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
    keyboard = offer(presets[:SUGGESTED_PRESETS]) if offer is not None else None
    if keyboard is None:
        raise Refused(N_("I don't know a style called “{name}”. /presets shows them all.", name=name))
    raise Refused(
        N_("I don't know a style called “{name}”. Pick one of these, or see them all with /presets.", name=name),
        keyboard,
    )


async def sketch_alone(svc: Services, user_id: int, content: str, styles: tuple[str, ...]) -> bytes:
    """The instant sketch as the whole answer (the user's /settings ask for it): no painting, no queue; it counts
    toward the user's daily limit. Refused at the limit, or when the sketches are all busy."""
    assert svc.sketches is not None
    try:
        await svc.jobs.count_sketch_only(user_id, job_limits(svc.settings, user_id))
    except LimitReached as exc:
        raise Refused(limit_refusal(exc)) from exc
    try:
        return await svc.sketches.paint(await sketch_input(svc, content), await sketch_input(svc, styles[0]))
    except SketchBusy as exc:
        raise Refused(SKETCHES_BUSY) from exc


SKETCH_ALONE_CAPTION = N_("✏️ Your sketch. (Sketch only is on: /settings to get paintings.)")


def posted(svc: Services, job_id: int, text: str) -> None:
    """Tell the delivery loop what a new status message shows (so it doesn't edit it needlessly)."""
    if svc.on_status_posted is not None:
        svc.on_status_posted(job_id, text)
