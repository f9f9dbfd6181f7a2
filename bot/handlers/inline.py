"""Inline mode: `@bot` in any chat offers your recent results (sent again by their file_id)."""

from __future__ import annotations

from telegram import InlineQueryResultCachedPhoto, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from ..services import services

MAX_RESULTS = 20


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer `@bot [#job]` with the user's recent pictures (the named one first)."""
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    results = await svc.st.recent_results(query.from_user.id, limit=MAX_RESULTS)
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
            )
            for r in results
        ],
        cache_time=5,
        is_personal=True,
    )
