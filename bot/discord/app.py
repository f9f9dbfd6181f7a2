"""The Discord application: `StyleBot` (a discord.py Client with its command tree) opens the shared resources in
setup_hook; `serve` runs it inside a running event loop, `run_discord` until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

import discord
from discord import app_commands

from settings import Settings

from ..core.i18n import load_catalogs
from ..core.logs import configure_logging, install_token_filter
from ..core.services import Tuning
from ..core.startup import close_services, start_services
from . import buttons, cancel, commands, intake
from .delivery import Delivery
from .endpoints import point_at
from .locale import CommandTranslator
from .services import DiscordServices

log = logging.getLogger(__name__)

NO_TOKEN = (
    "STYLEBOT_DISCORD_TOKEN is not set: create an application at https://discord.com/developers/applications, "
    "copy its bot token (Bot ▸ Reset Token), then run again with STYLEBOT_DISCORD_TOKEN=<the token>."
)
READY_TIMEOUT_S = 60.0


def intents() -> discord.Intents:
    """Guilds, guild and DM messages: no privileged intent (slash commands, context menus, DMs and mentions all
    work without Message Content)."""
    return discord.Intents.default()  # every intent but the three privileged ones


class StyleBot(discord.Client):
    """The bot: slash commands and a message command on `tree`, persistent result buttons, DMs and mentions."""

    def __init__(self, settings: Settings, *, tuning: Tuning | None = None, retention: bool = True) -> None:
        super().__init__(
            intents=intents(),
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=True),
        )
        self.svc = DiscordServices(settings=settings, tuning=tuning or Tuning())
        self.tree: app_commands.CommandTree[StyleBot] = app_commands.CommandTree(self)
        self.delivery: Delivery | None = None
        self._retention = retention

    async def setup_hook(self) -> None:
        """Open the stores, register every command and button, sync the commands, start the delivery loop."""
        await start_services(self.svc, retention=self._retention)
        await self.tree.set_translator(CommandTranslator())
        for part in (commands, intake, buttons, cancel):
            part.setup(self)
        await self.tree.sync()
        self.delivery = Delivery(self)
        self.delivery.start()

    async def on_message(self, message: discord.Message) -> None:
        """DMs with pictures, and mentions of the bot in a server (bot.discord.intake)."""
        await intake.on_message(self, message)

    async def close(self) -> None:
        """Finish the deliveries under way, disconnect, then close the stores."""
        if self.delivery is not None:
            await self.delivery.stop()
            self.delivery = None
        await super().close()
        await close_services(self.svc)


def build_client(settings: Settings, *, tuning: Tuning | None = None, retention: bool = True) -> StyleBot:
    """A StyleBot pointed at STYLEBOT_DISCORD_API_URL / _GATEWAY_URL; the stores open when it logs in."""
    if not settings.discord_token:
        raise ValueError(NO_TOKEN)
    install_token_filter(settings.discord_token)
    load_catalogs()  # a broken catalog fails here, not in the middle of a reply
    point_at(settings)
    return StyleBot(settings, tuning=tuning, retention=retention)


@contextlib.asynccontextmanager
async def serve(client: StyleBot) -> AsyncIterator[StyleBot]:
    """Log in, connect and wait until the gateway is ready (inside the current event loop); close on exit."""
    await client.login(client.svc.settings.discord_token)  # runs setup_hook
    connection = asyncio.create_task(client.connect(reconnect=True), name="stylebot-discord")
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({connection, ready}, timeout=READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if connection.done():
                connection.result()  # raises what kept the client from connecting
            raise TimeoutError("the Discord gateway did not become ready")
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await connection


async def serve_until_stopped(client: StyleBot, stop: asyncio.Event) -> None:
    """Run the client until `stop` is set."""
    async with serve(client):
        await stop.wait()


def run_discord(settings: Settings) -> None:
    """Run the Discord bot alone until Ctrl-C or SIGTERM (`stylebot run` starts the local workers around it)."""
    if not settings.discord_token:
        raise SystemExit(NO_TOKEN)
    configure_logging(settings.discord_token, settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_until_stopped(build_client(settings), stop)

    asyncio.run(main())


