"""/settings: strength, size, keep colours and quality, stored per user."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from ..captions import settings_text
from ..keyboards import SETTINGS_PREFIX, settings_keyboard
from ..params import QUALITIES, STRENGTHS, clamp_size
from ..services import services
from .common import answer


async def on_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/settings: show your settings with buttons to change them."""
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None:
        return
    svc = services(context)
    current = await svc.us.get(user.id)
    await answer(
        msg, settings_text(current, svc.settings), reply_markup=settings_keyboard(user.id, current, svc.settings)
    )


async def on_settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a /settings button: change that setting and redraw the message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    svc = services(context)
    owner, field, value = [*query.data.removeprefix(SETTINGS_PREFIX).split(":", 2), "", ""][:3]
    if owner != str(user.id):
        await query.answer("These are someone else's settings. Send /settings for yours.", True)
        return
    change: dict[str, object]
    try:
        if field == "strength" and float(value) in STRENGTHS:
            change = {"strength": float(value)}
        elif field == "size":
            change = {"max_side": clamp_size(int(value), svc.settings)}
        elif field == "colors":
            change = {"preserve_colors": value == "1"}
        elif field == "quality" and value in QUALITIES:
            change = {"quality": value}
        else:
            raise ValueError(field)
    except ValueError:
        await query.answer("That button is out of date. Send /settings again.", True)
        return
    updated = await svc.us.update(user.id, **change)
    await query.answer("Saved.")
    try:
        await query.edit_message_text(
            settings_text(updated, svc.settings),
            parse_mode=ParseMode.HTML,
            reply_markup=settings_keyboard(user.id, updated, svc.settings),
        )
    except BadRequest as exc:  # tapping the chosen value again changes nothing
        if "not modified" not in str(exc).lower():
            raise
