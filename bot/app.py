"""The Telegram application: `build_application` wires handlers and resources, `run_bot` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
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

from jobs.interface import BotQueue, PresetStore, SettingsStore
from stylebot import metrics
from stylebot.config import Settings

from .albums import AlbumCollector
from .delivery import Delivery
from .handlers import errors, inline, jobs, photos, presets, settings, start
from .keyboards import CANCEL, FORGET_PREFIX, PRESET_PREFIX, REDO_PREFIX, RESULT_PREFIX, SETTINGS_PREFIX
from .logs import configure_logging, install_token_filter
from .services import SERVICES_KEY, Services, Tuning, services
from .state import BotState

log = logging.getLogger(__name__)

NO_TOKEN = (
    "STYLEBOT_TOKEN is not set: talk to @BotFather in Telegram (/newbot), "
    "then run again with STYLEBOT_TOKEN=<the token it gives you>."
)

COMMANDS = [
    BotCommand("start", "What this bot does"),
    BotCommand("help", "How to use it, with an example"),
    BotCommand("style", "Paint your photo with a style: /style <name>"),
    BotCommand("presets", "The styles you can use"),
    BotCommand("settings", "Strength, size, colours, quality"),
    BotCommand("history", "Your recent pictures"),
    BotCommand("cancel", "Stop the current painting"),
    BotCommand("savestyle", "Reply to a picture to keep it as a style"),
    BotCommand("forget", "Delete your pictures and history"),
]


@dataclass(frozen=True)
class Stores:
    """The job system's bot-side interfaces (tests may pass their own)."""

    queue: BotQueue
    presets: PresetStore
    settings: SettingsStore


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
    stores: Stores | None = None,
    tuning: Tuning | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application with every handler registered; the stores are opened in post_init (unless given)."""
    if not settings.token:
        raise ValueError(NO_TOKEN)
    install_token_filter(settings.token)
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
    svc = Services(settings=settings, tuning=tuning or Tuning())
    if stores is not None:
        svc.queue, svc.presets, svc.user_settings = stores.queue, stores.presets, stores.settings
    app.bot_data[SERVICES_KEY] = svc
    register_handlers(app)
    return app


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Every command, message, button and inline handler (the allow-list guard runs first)."""
    app.add_handler(TypeHandler(Update, errors.guard_access), group=-1)
    image = filters.PHOTO | filters.Document.ALL
    app.add_handlers(
        [
            CommandHandler("start", start.on_start),
            CommandHandler("help", start.on_help),
            CommandHandler("style", photos.on_style_command),
            CommandHandler("presets", presets.on_presets),
            CommandHandler(["savestyle", "addpreset"], presets.on_save_command),
            CommandHandler("settings", settings.on_settings),
            CommandHandler("cancel", jobs.on_cancel),
            CommandHandler("history", jobs.on_history),
            CommandHandler("forget", jobs.on_forget),
            CommandHandler("stats", jobs.on_stats),
            MessageHandler(image & ~filters.UpdateType.EDITED, photos.on_image),
            CallbackQueryHandler(jobs.on_cancel_button, pattern=f"^{CANCEL}$"),
            CallbackQueryHandler(presets.on_preset_button, pattern=f"^{PRESET_PREFIX}"),
            CallbackQueryHandler(jobs.on_result_button, pattern=f"^{RESULT_PREFIX}"),
            CallbackQueryHandler(jobs.on_redo_button, pattern=f"^{REDO_PREFIX}"),
            CallbackQueryHandler(settings.on_settings_button, pattern=f"^{SETTINGS_PREFIX}"),
            CallbackQueryHandler(jobs.on_forget_button, pattern=f"^{FORGET_PREFIX}"),
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
    if svc.queue is None:
        from jobs.store import Database  # the SQLite stores; tests may inject others

        database = await Database(svc.settings).open()
        svc.queue, svc.presets, svc.user_settings = database.jobs, database.presets, database.settings
        svc.state = BotState(database.connection)
        svc.closers.append(database.close)
    if svc.state is None:
        svc.state = await BotState.open(svc.settings.db_path)
        svc.closers.append(svc.state.close)
    svc.bot_username = app.bot.username
    added = await presets.sync_preset_dir(svc)
    if added:
        log.info("registered %d preset(s) from %s", added, svc.settings.presets_dir)
    try:
        await app.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:  # cosmetic: the bot works without its command menu
        log.warning("could not set the command menu: %s", exc)

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
    svc = services(app)
    while svc.closers:
        closer = svc.closers.pop()
        try:
            await closer()
        except Exception:
            log.exception("closing %s failed", closer)


@contextlib.asynccontextmanager
async def serve(
    app: Application[Any, Any, Any, Any, Any, Any], *, poll_timeout: float = 10.0
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the application inside the current event loop, as `run_polling` does (for embedding and tests)."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        assert app.updater is not None
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


def run_bot(settings: Settings | None = None) -> None:
    """Run the bot (and settings.workers local worker processes) until Ctrl-C or SIGTERM."""
    settings = settings or Settings.from_env()
    if not settings.token:
        raise SystemExit(NO_TOKEN)
    configure_logging(settings.token, os.environ.get("STYLEBOT_LOG_LEVEL", "INFO"))
    app = build_application(settings)
    pool = None
    if settings.workers > 0:
        from jobs.pool import WorkerPool

        pool = WorkerPool(settings, settings.workers)
        pool.start()
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        if pool is not None:
            pool.stop()
