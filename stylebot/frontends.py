"""`stylebot run`'s chat front ends: every one whose token is set (Telegram: STYLEBOT_TOKEN, Discord:
STYLEBOT_DISCORD_TOKEN), alone or both in one event loop, sharing the store and the local workers."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from settings import Settings

NO_TOKENS = (
    "Neither STYLEBOT_TOKEN nor STYLEBOT_DISCORD_TOKEN is set: for Telegram, ask @BotFather for a token (/newbot) "
    "and set STYLEBOT_TOKEN; for Discord, create an application at https://discord.com/developers/applications and "
    "set STYLEBOT_DISCORD_TOKEN to its bot token."
)


def startup_error(settings: Settings) -> str | None:
    """The one line that keeps the front ends from starting, or None."""
    if not settings.token and not settings.discord_token:
        return NO_TOKENS
    if settings.token:
        from bot.telegram.app import startup_error as telegram_problem

        return telegram_problem(settings)
    return None


def run_front_ends(settings: Settings) -> None:
    """Run every front end with a token until Ctrl-C or SIGTERM."""
    if settings.token and not settings.discord_token:
        from bot.telegram.app import run_bot

        run_bot(settings)
    elif settings.discord_token and not settings.token:
        from bot.discord.app import run_discord

        run_discord(settings)
    else:
        asyncio.run(_run_both(settings))


async def _run_both(settings: Settings) -> None:
    """Telegram and Discord in one event loop (Telegram runs the retention sweep for both)."""
    from bot.core.logs import configure_logging, install_token_filter
    from bot.discord.app import build_client, serve_until_stopped
    from bot.telegram.app import build_application, serve

    configure_logging(settings.token, settings.log_level)
    install_token_filter(settings.discord_token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(serve(build_application(settings)))
        await serve_until_stopped(build_client(settings, retention=False), stop)
