"""/start and /help."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from ..services import services
from .common import answer, is_private

HELP = (
    "🎨 I turn photos into paintings.\n\n"
    "<b>How:</b> send me a photo, then a second picture whose style I should copy "
    "(or send both as one album). Or use a ready-made style:\n"
    "<code>/style {example}</code> as a photo's caption, or as a reply to a photo.\n\n"
    "/presets — the styles\n"
    "/settings — strength, size, colours, quality\n"
    "/history — your recent pictures (with Redo)\n"
    "/cancel — stop what I'm painting for you\n"
    "/savestyle &lt;name&gt; — reply to a picture to keep it as a style\n"
    "/forget — delete your pictures and history\n\n"
    "Type @{bot} in any chat to share your results."
)


async def help_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    svc = services(context)
    chat_id = update.effective_chat.id if update.effective_chat else 0
    presets = await svc.p.list(chat_id)
    example = presets[0].name if presets else "starry_night"
    return HELP.format(example=example, bot=svc.bot_username or "this_bot")


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: greet and explain in a few lines."""
    msg = update.effective_message
    if msg is None:
        return
    text = await help_text(update, context)
    if is_private(update):
        name = update.effective_user.first_name if update.effective_user else "there"
        text = f"Hi {escape(name, quote=False)}! " + text
    await answer(msg, text)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what I do, with an example."""
    if update.effective_message is not None:
        await answer(update.effective_message, await help_text(update, context))
