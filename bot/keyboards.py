"""Inline keyboards and their callback data (each prefix is routed to one handler in bot.app)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from jobs.models import JobStatus, Preset, UserSettings
from stylebot.config import Settings

from .params import QUALITIES, STRENGTHS, format_strength, size_choices

CANCEL = "cancel"
PRESET_PREFIX = "p:"  # p:<owner_id>:<name>
RESULT_PREFIX = "r:"  # r:<action>:<job_id>, action in up/down/colors/file
REDO_PREFIX = "h:"  # h:<job_id>
SETTINGS_PREFIX = "s:"  # s:<owner_id>:<field>:<value>
FORGET_PREFIX = "f:"  # f:<user_id>:yes|no
MAX_PRESET_BUTTONS = 12


def cancel_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("✖ Cancel", callback_data=CANCEL)]])


def preset_keyboard(presets: list[Preset], owner_id: int) -> InlineKeyboardMarkup | None:
    """Two preset buttons a row (the first MAX_PRESET_BUTTONS presets); only the owner may tap them."""
    buttons = [
        InlineKeyboardButton(p.name.replace("_", " "), callback_data=f"{PRESET_PREFIX}{owner_id}:{p.name}")
        for p in presets[:MAX_PRESET_BUTTONS]
    ]
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def result_keyboard(job: JobStatus) -> InlineKeyboardMarkup:
    """Stronger / Weaker / Keep colours / Full-size file / Share under a finished picture."""
    colours = "🎨 New colours" if job.params.preserve_colors else "🎨 Keep colours"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("➕ Stronger", callback_data=f"{RESULT_PREFIX}up:{job.id}"),
                InlineKeyboardButton("➖ Weaker", callback_data=f"{RESULT_PREFIX}down:{job.id}"),
            ],
            [
                InlineKeyboardButton(colours, callback_data=f"{RESULT_PREFIX}colors:{job.id}"),
                InlineKeyboardButton("📄 Full-size file", callback_data=f"{RESULT_PREFIX}file:{job.id}"),
            ],
            [InlineKeyboardButton("↗ Share", switch_inline_query=f"#{job.id}")],
        ]
    )


def redo_keyboard(jobs: list[JobStatus]) -> InlineKeyboardMarkup | None:
    buttons = [InlineKeyboardButton(f"↻ Redo #{job.id}", callback_data=f"{REDO_PREFIX}{job.id}") for job in jobs]
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def _mark(label: str, chosen: bool) -> str:
    return f"• {label} •" if chosen else label


def settings_keyboard(owner_id: int, user: UserSettings, settings: Settings) -> InlineKeyboardMarkup:
    """Buttons for strength, size, keep colours and quality (data carries the owner's id)."""

    def button(label: str, field: str, value: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=f"{SETTINGS_PREFIX}{owner_id}:{field}:{value}")

    strengths = [button(_mark(format_strength(s), s == user.strength), "strength", s) for s in STRENGTHS]
    chosen_size = min(user.max_side, settings.max_size)
    sizes = [button(_mark(f"{s}px", s == chosen_size), "size", s) for s in size_choices(settings)]
    colours = button(
        "Keep colours: yes" if user.preserve_colors else "Keep colours: no", "colors", int(not user.preserve_colors)
    )
    qualities = [button(_mark(q, q == user.quality), "quality", q) for q in QUALITIES]
    return InlineKeyboardMarkup(
        [strengths[:3], strengths[3:], sizes[:4], sizes[4:], [colours], qualities]
        if len(sizes) > 4
        else [strengths[:3], strengths[3:], sizes, [colours], qualities]
    )


def forget_keyboard(user_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes, delete everything", callback_data=f"{FORGET_PREFIX}{user_id}:yes"),
                InlineKeyboardButton("No", callback_data=f"{FORGET_PREFIX}{user_id}:no"),
            ]
        ]
    )
