"""The Telegram application: `build_application` wires handlers and resources, `run_bot` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from settings import Settings

from ..core import metrics
from ..core.albums import AlbumCollector
from ..core.i18n import N_, SOURCE, Translator, load_catalogs
from ..core.logs import configure_logging, install_token_filter
from ..core.privacy import operator_text
from ..core.services import Tuning
from ..core.startup import close_services, start_services
from .delivery import Delivery
from .handlers import (
    buttons,
    cancel,
    errors,
    forget,
    history,
    inline,
    me,
    photos,
    presets,
    privacy,
    results,
    settings,
    start,
    stats,
)
from .keyboards import CANCEL, FORGET_PREFIX, PRESET_PREFIX, REDO_PREFIX, RESULT_PREFIX, SETTINGS_PREFIX
from .services import SERVICES_KEY, TelegramServices, services
from .webhook import limit_request_bodies, webhook_options

log = logging.getLogger(__name__)

NO_TOKEN = (
    "STYLEBOT_TOKEN is not set: talk to @BotFather in Telegram (/newbot), "
    "then run again with STYLEBOT_TOKEN=<the token it gives you>."
)

COMMANDS = [
    ("start", N_("What this bot does")),
    ("help", N_("How to use it, with an example")),
    ("style", N_("Paint your photo with a style: /style <name>")),
    ("presets", N_("The styles you can use")),
    ("settings", N_("Strength, size, colours, quality")),
    ("history", N_("Your recent pictures")),
    ("me", N_("Your queue, today's count and storage")),
    ("cancel", N_("Stop the current painting")),
    ("savestyle", N_("Reply to a picture to keep it as a style")),
    ("deletestyle", N_("Delete one of this chat's styles")),
    ("forget", N_("Delete your pictures and history")),
    ("privacy", N_("What I keep, and how to delete it")),
]


def command_menu(t: Translator) -> list[BotCommand]:
    """The command menu in one language."""
    return [BotCommand(command, t(description)) for command, description in COMMANDS]


async def set_command_menus(bot: Bot) -> None:
    """The menu in each language, for users whose language_code is it (a two-letter code, as Telegram wants), and
    the English one for everyone else."""
    for t in load_catalogs():
        code = None if t.language == SOURCE else t.locale.language
        try:
            await bot.set_my_commands(command_menu(t), language_code=code)
        except TelegramError as exc:  # cosmetic: the bot works without its command menu
            log.warning("could not set the command menu (%s): %s", code or "default", exc)


class CountingRateLimiter(AIORateLimiter):
    """AIORateLimiter that counts each 429 (RetryAfter) Telegram answers, for the retries metric."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        async def counted(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter:
                metrics.telegram_retry(endpoint)
                raise

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)


def default_rate_limiter() -> AIORateLimiter:
    """Telegram's flood limits, and a 429 is waited out (retry_after) and retried, not dropped."""
    return CountingRateLimiter(max_retries=5)


def build_application(
    settings: Settings,
    *,
    tuning: Tuning | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application with every handler registered; the stores are opened in post_init."""
    if not settings.token:
        raise ValueError(NO_TOKEN)
    install_token_filter(settings.token)
    load_catalogs()  # a broken catalog fails here, not in the middle of a reply
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        .rate_limiter(rate_limiter or default_rate_limiter())
        .concurrent_updates(16)  # a per-(chat, user) lock keeps each member's updates in order
        .connect_timeout(10)
        .read_timeout(20)
        .write_timeout(30)
        .media_write_timeout(60)
        .pool_timeout(10)
        .connection_pool_size(32)
        .get_updates_read_timeout(30)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    svc = TelegramServices(settings=settings, tuning=tuning or Tuning())
    app.bot_data[SERVICES_KEY] = svc
    app.bot_data[privacy.TEXT_KEY] = operator_text(settings)
    register_handlers(app)
    return app


async def guard(update: Update, context: Any) -> None:
    """Before any handler: the allow-list, then for a tap that its data is a button of the tapped message (each
    stops the update with ApplicationHandlerStop)."""
    await errors.guard_access(update, context)
    await buttons.guard_buttons(update, context)


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Every command, message, button and inline handler (the allow-list guard runs first)."""
    app.add_handler(TypeHandler(Update, guard), group=-1)
    image = filters.PHOTO | filters.Document.ALL
    app.add_handlers(
        [
            CommandHandler("start", start.on_start),
            CommandHandler("help", start.on_help),
            CommandHandler("style", photos.on_style_command),
            CommandHandler("presets", presets.on_presets),
            CommandHandler(["savestyle", "addpreset"], presets.on_save_command),
            CommandHandler("deletestyle", presets.on_delete_style),
            CommandHandler("settings", settings.on_settings),
            CommandHandler("cancel", cancel.on_cancel),
            CommandHandler("history", history.on_history),
            CommandHandler("me", me.on_me),
            CommandHandler("forget", forget.on_forget),
            CommandHandler("stats", stats.on_stats),
            CommandHandler("privacy", privacy.on_privacy),
            MessageHandler(image & ~filters.UpdateType.EDITED, photos.on_image),
            CallbackQueryHandler(cancel.on_cancel_button, pattern=f"^{CANCEL}$"),
            CallbackQueryHandler(presets.on_preset_button, pattern=f"^{PRESET_PREFIX}"),
            CallbackQueryHandler(results.on_result_button, pattern=f"^{RESULT_PREFIX}"),
            CallbackQueryHandler(history.on_redo_button, pattern=f"^{REDO_PREFIX}"),
            CallbackQueryHandler(settings.on_settings_button, pattern=f"^{SETTINGS_PREFIX}"),
            CallbackQueryHandler(forget.on_forget_button, pattern=f"^{FORGET_PREFIX}"),
            InlineQueryHandler(inline.on_inline_query),
        ]
    )
    app.add_error_handler(errors.on_error)


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Open the stores, sync the presets directory, start the metrics server, the albums and the delivery loop."""
    svc = services(app)
    if svc.settings.metrics_port > 0:
        stop_metrics = metrics.serve(svc.settings.metrics_port, svc.settings.metrics_addr)
        svc.closers.append(lambda: asyncio.to_thread(stop_metrics))
        log.info("metrics on http://%s:%d/metrics", svc.settings.metrics_addr, svc.settings.metrics_port)
    await start_services(svc)
    svc.bot_username = app.bot.username
    await set_command_menus(app.bot)

    async def album_done(key: Any, items: list[tuple[int, Any]]) -> None:
        await photos.on_album(app, key, items)

    svc.albums = AlbumCollector(svc.tuning.album_wait_s, album_done)
    delivery = Delivery(app.bot, svc)
    svc.on_status_posted = delivery.note_status
    app.bot_data["stylebot.delivery"] = delivery
    delivery.start()


async def _post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Finish albums still being collected, then let the delivery loop end its round."""
    svc = services(app)
    if svc.albums is not None:
        await svc.albums.close()
    delivery: Delivery | None = app.bot_data.pop("stylebot.delivery", None)
    if delivery is not None:
        await delivery.stop()


async def _post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close what post_init opened."""
    await close_services(services(app))


@contextlib.asynccontextmanager
async def serve(
    app: Application[Any, Any, Any, Any, Any, Any], *, poll_timeout: float = 10.0
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the application inside the current event loop, as `run_polling` (or, with STYLEBOT_WEBHOOK_URL,
    `run_webhook`) does (for embedding and tests)."""
    settings = services(app).settings
    webhook = webhook_options(settings) if settings.webhook_url else None
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        assert app.updater is not None
        if webhook is not None:
            limit_request_bodies()
            await app.updater.start_webhook(**webhook)
        else:
            await app.updater.start_polling(timeout=int(poll_timeout), allowed_updates=Update.ALL_TYPES)
        await app.start()
        yield app
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


def run_bot(settings: Settings) -> None:
    """Run the bot until Ctrl-C or SIGTERM (`stylebot run` starts the local workers around it): long polling, or
    the webhook server when STYLEBOT_WEBHOOK_URL is set."""
    problem = startup_error(settings)
    if problem:
        raise SystemExit(problem)
    configure_logging(settings.token, settings.log_level)
    app = build_application(settings)
    if settings.webhook_url:
        log.info("taking updates through the webhook at %s", settings.webhook_url)
        limit_request_bodies()
        app.run_webhook(**webhook_options(settings))
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)


def startup_error(settings: Settings) -> str | None:
    """The one line that keeps the bot from starting (no token, an unreadable privacy file, a bad webhook
    setting), or None."""
    if not settings.token:
        return NO_TOKEN
    try:
        operator_text(settings)
        if settings.webhook_url:
            webhook_options(settings)
    except ValueError as exc:
        return str(exc)
    return None
