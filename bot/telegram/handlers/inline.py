"""Inline mode: `@bot` in any chat offers your recent results (sent again by their file_id)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, InlineQueryResultCachedPhoto, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from jobs.models import DeliveryRecord

from ...core.i18n import Translator
from ..identity import translator_of
from ..keyboards import share_keyboard
from ..services import TelegramServices, services

MAX_RESULTS = 20


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer `@bot [#job]` with the user's recent pictures (the named one first)."""
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    t = translator_of(update)
    results = await svc.chat_state.recent_results(query.from_user.id, limit=MAX_RESULTS)
    wanted = query.query.strip().lstrip("#")
    if wanted.isdigit():
        results.sort(key=lambda r: r.job_id != int(wanted))
    await query.answer(
        [
            InlineQueryResultCachedPhoto(
                id=str(r.job_id),
                photo_file_id=r.file_id or "",
                caption=r.caption,
                parse_mode=ParseMode.HTML,
                reply_markup=await _paint_mine(svc, r, t),
            )
            for r in results
        ],
        cache_time=5,
        is_personal=True,
    )


async def _paint_mine(svc: TelegramServices, result: DeliveryRecord, t: Translator) -> InlineKeyboardMarkup | None:
    """A link for whoever sees the shared picture: their photo in the same style, when it is a style anyone
    can use (a global preset)."""
    job = await svc.jobs.status(result.job_id)
    if job is None or not job.style_name or not svc.bot_username:
        return None
    preset = await svc.presets.get(job.style_name, 0)
    if preset is None or preset.chat_id is not None:
        return None
    return share_keyboard(svc.bot_username, preset.name, t)
