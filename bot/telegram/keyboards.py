"""Inline keyboards and their callback data (each prefix is routed to one handler in bot.telegram.app)."""

from __future__ import annotations

import asyncio

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatType

from jobs import keys
from jobs.models import QUALITIES, JobStatus, Preferences, Preset
from jobs.storage import Storage
from settings import Settings

from ..core.captions import STROKE_NAMES, colours_label, quality_name, sketch_only_label
from ..core.i18n import ENGLISH, Translator, translator
from ..core.params import (
    AGAIN,
    BIGGER,
    COLOURS,
    SMALLER,
    STRENGTHS,
    STROKE_CHOICES,
    STRONGER,
    WEAKER,
    format_factor,
    size_choices,
    user_size,
)

CANCEL = "cancel"
STYLE_LINK = "style-"  # t.me/<bot>?start=style-<preset>: open the bot with that style chosen
PRESET_PREFIX = "p:"  # p:<owner_id>:<name>
RESULT_PREFIX = "r:"  # r:<action>:<job_id>, action: one of bot.core.params.VARIATIONS or of the five below
OTHER_STYLE, FILE, TIMELAPSE = "style", "file", "gif"
PRIVATELY, DELETE = "dm", "del"  # in groups only
REDO_PREFIX = "h:"  # h:<job_id>
SETTINGS_PREFIX = "s:"  # s:<owner_id>:<field>:<value>
FORGET_PREFIX = "f:"  # f:<user_id>:yes|no
MAX_PRESET_BUTTONS = 12


def cancel_keyboard(language: str = "") -> InlineKeyboardMarkup:
    """The Cancel button under a status message, in the language of whoever asked (Telegram's language_code)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(translator(language).gettext("✖ Cancel"), callback_data=CANCEL)]]
    )


def preset_keyboard(presets: list[Preset], owner_id: int) -> InlineKeyboardMarkup | None:
    """Two preset buttons a row (the first MAX_PRESET_BUTTONS presets); only the owner may tap them."""
    buttons = [
        InlineKeyboardButton(p.name.replace("_", " "), callback_data=f"{PRESET_PREFIX}{owner_id}:{p.name}")
        for p in presets[:MAX_PRESET_BUTTONS]
    ]
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def result_keyboard(job: JobStatus, *, has_timelapse: bool) -> InlineKeyboardMarkup:
    """The buttons under a finished picture, in the requester's language: one row per kind of change, then
    the ways to get or share it (and in groups: send it privately, delete it). `has_timelapse`: see
    `offers_timelapse`."""
    t = translator(job.language)

    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=f"{RESULT_PREFIX}{action}:{job.id}")

    colours = t.gettext("🎨 New colours") if job.params.preserve_colors else t.gettext("🎨 Keep colours")
    other = [button(t.gettext("🖼 Other style"), OTHER_STYLE)]
    if has_timelapse:
        other.append(button(t.gettext("🎞 Time-lapse"), TIMELAPSE))
    rows = [
        [button(t.gettext("➕ Stronger"), STRONGER), button(t.gettext("➖ Weaker"), WEAKER)],
        [button(t.gettext("🖌 Bigger strokes"), BIGGER), button(t.gettext("✏ Smaller strokes"), SMALLER)],
        [button(colours, COLOURS), button(t.gettext("🎲 Another version"), AGAIN)],
        other,
        [
            button(t.gettext("📄 Full-size file"), FILE),
            InlineKeyboardButton(t.gettext("↗ Share"), switch_inline_query=f"#{job.id}"),
        ],
    ]
    if job.chat_type != ChatType.PRIVATE:
        rows.append([button(t.gettext("📩 Send to me privately"), PRIVATELY), button(t.gettext("✖ Delete"), DELETE)])
    return InlineKeyboardMarkup(rows)


async def offers_timelapse(storage: Storage, job: JobStatus) -> bool:
    """Whether the job has a time-lapse to offer: the worker stores one only when the job ran long enough for a
    few frames, and storing it may fail, so the storage is what knows."""
    return await asyncio.to_thread(storage.exists, keys.timelapse_key(job.user_id, job.id))


def redo_keyboard(jobs: list[JobStatus], t: Translator = ENGLISH) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(t.gettext("↻ Redo #{job}", job=job.id), callback_data=f"{REDO_PREFIX}{job.id}")
        for job in jobs
    ]
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def _mark(label: str, chosen: bool) -> str:
    return f"• {label} •" if chosen else label


def settings_keyboard(
    owner_id: int, user: Preferences, settings: Settings, t: Translator = ENGLISH
) -> InlineKeyboardMarkup:
    """Buttons for strength, size, strokes, keep colours and quality (data carries the owner's id)."""

    def button(label: str, field: str, value: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=f"{SETTINGS_PREFIX}{owner_id}:{field}:{value}")

    strengths = [button(_mark(format_factor(s), s == user.strength), "strength", s) for s in STRENGTHS]
    chosen_size = user_size(user, settings)
    sizes = [button(_mark(f"{s}px", s == chosen_size), "size", s) for s in size_choices(settings)]
    strokes = [
        button(_mark(f"🖌 {t(STROKE_NAMES[name])}", abs(scale - user.style_scale) < 1e-9), "strokes", name)
        for name, scale in STROKE_CHOICES.items()
    ]
    colours = button(colours_label(user.preserve_colors, t), "colors", int(not user.preserve_colors))
    qualities = [button(_mark(quality_name(q, t), q == user.quality), "quality", q) for q in QUALITIES]
    size_rows = [sizes[:4], sizes[4:]] if len(sizes) > 4 else [sizes]
    rows = [strengths[:3], strengths[3:], *size_rows, strokes, [colours], qualities]
    if settings.sketch:
        rows.append([button(sketch_only_label(user.sketch_only, t), "sketch", int(not user.sketch_only))])
    return InlineKeyboardMarkup(rows)


def forget_keyboard(user_id: int, t: Translator = ENGLISH) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("Yes, delete everything"), callback_data=f"{FORGET_PREFIX}{user_id}:yes"
                ),
                InlineKeyboardButton(t.gettext("No"), callback_data=f"{FORGET_PREFIX}{user_id}:no"),
            ]
        ]
    )


def style_link(bot_username: str, preset: str) -> str:
    """The link that opens the bot with this style chosen for the next photo."""
    return f"https://t.me/{bot_username}?start={STYLE_LINK}{preset}"


def share_keyboard(bot_username: str, preset: str, t: Translator = ENGLISH) -> InlineKeyboardMarkup:
    """Under a result shared inline: whoever sees it can paint their own photo in its style."""
    button = InlineKeyboardButton(t.gettext("🎨 Paint mine in this style"), url=style_link(bot_username, preset))
    return InlineKeyboardMarkup([[button]])
