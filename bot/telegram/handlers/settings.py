"""/settings: strength, size, strokes, keep colours and quality, stored per user."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from jobs.models import QUALITIES

from ...core.captions import settings_text
from ...core.params import STRENGTHS, STROKE_CHOICES, clamp_size
from ..identity import translator_of
from ..keyboards import SETTINGS_PREFIX, settings_keyboard
from ..services import services
from .common import answer


async def on_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/settings: show your settings with buttons to change them."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    svc, t = services(context), translator_of(update)
    current = await svc.preferences.get(user.id)
    await answer(
        msg, settings_text(current, svc.settings, t), reply_markup=settings_keyboard(user.id, current, svc.settings, t)
    )


async def on_settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a /settings button: change that setting and redraw the message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    svc, t = services(context), translator_of(update)
    owner, field, value = [*query.data.removeprefix(SETTINGS_PREFIX).split(":", 2), "", ""][:3]
    if owner != str(user.id):
        await query.answer(t.gettext("These are someone else's settings. Send /settings for yours."), True)
        return
    change: dict[str, object]
    try:
        if field == "strength" and float(value) in STRENGTHS:
            change = {"strength": float(value)}
        elif field == "size":
            change = {"max_side": clamp_size(int(value), svc.settings)}
        elif field == "strokes" and value in STROKE_CHOICES:
            change = {"style_scale": STROKE_CHOICES[value]}
        elif field == "colors":
            change = {"preserve_colors": value == "1"}
        elif field == "quality" and value in QUALITIES:
            change = {"quality": value}
        elif field == "sketch" and svc.settings.sketch:
            change = {"sketch_only": value == "1"}
        else:
            raise ValueError(field)
    except ValueError:
        await query.answer(t.gettext("That button is out of date. Send /settings again."), True)
        return
    updated = await svc.preferences.update(user.id, **change)
    await query.answer(t.gettext("Saved."))
    try:
        await query.edit_message_text(
            settings_text(updated, svc.settings, t),
            parse_mode=ParseMode.HTML,
            reply_markup=settings_keyboard(user.id, updated, svc.settings, t),
        )
    except BadRequest as exc:  # tapping the chosen value again changes nothing
        if "not modified" not in str(exc).lower():
            raise
