"""/start and /help."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from ...core.i18n import N_, Translator
from ..identity import requester_of, translator_of
from ..keyboards import STYLE_LINK
from ..services import services
from .common import answer, is_private

HELP = N_(
    "🎨 I turn photos into paintings.\n\n"
    "<b>How:</b> send me a photo, then a second picture whose style I should copy "
    "(or send both as one album). Or use a ready-made style:\n"
    "<code>/style {example}</code> as a photo's caption, or as a reply to a photo.\n\n"
    "/presets — the styles\n"
    "/settings — strength, size, colours, quality\n"
    "/history — your recent pictures (with Redo)\n"
    "/cancel — stop what I'm painting for you\n"
    "/savestyle &lt;name&gt; — reply to a picture to keep it as a style (/deletestyle removes one)\n"
    "/forget — delete your pictures, history, settings and the styles you saved here\n"
    "/privacy — what I keep, for how long, and who can see it\n\n"
    "Type @{bot} in any chat to share your results.\n\n"
    "<i>What /forget keeps:</i> today's count of your pictures (so the daily limit can't be reset), styles you "
    "saved in a group (they are the group's), and a photo of yours that someone else asked me to paint in a "
    "group (it belongs to their request). Everything else I keep for {days} days at most."
)


async def help_text(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator) -> str:
    svc = services(context)
    chat_id = update.effective_chat.id if update.effective_chat else 0
    presets = await svc.presets.list(chat_id)
    example = presets[0].name if presets else "starry_night"
    days = f"{svc.settings.retention_days:g}"
    return t(HELP, example=example, bot=svc.bot_username or "this_bot", days=days)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: greet and explain in a few lines; `/start style-<preset>` (a shared link) chooses a style first."""
    msg = update.effective_message
    if msg is None:
        return
    t = translator_of(update)
    link = (context.args or [""])[0]
    if link.startswith(STYLE_LINK):
        await _chosen_by_link(update, context, link.removeprefix(STYLE_LINK), t)
        return
    text = await help_text(update, context, t)
    if is_private(update) and update.effective_user is not None:
        text = t.gettext("Hi {name}!", name=escape(update.effective_user.first_name, quote=False)) + " " + text
    await answer(msg, text)


async def _chosen_by_link(
    update: Update, context: ContextTypes.DEFAULT_TYPE, name: str, t: Translator
) -> None:
    """The style of a shared result: the next photo this person sends is painted with it."""
    msg, user, svc = update.effective_message, requester_of(update), services(context)
    assert msg is not None
    preset = await svc.presets.get(name, msg.chat_id) if user is not None else None
    if preset is None or user is None:
        await answer(msg, t.gettext("I don't have the style “{name}” any more. /presets shows the ones I have.",
                                    name=escape(name, quote=False)))
        return
    await svc.chat_state.choose_style(msg.chat_id, user.id, preset.name)
    await answer(msg, t.gettext("Send me a photo, and I'll paint it in the style “{name}”.",
                                name=escape(preset.name.replace("_", " "), quote=False)))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what I do, with an example."""
    if update.effective_message is not None:
        await answer(update.effective_message, await help_text(update, context, translator_of(update)))
