"""Where discord.py talks to: STYLEBOT_DISCORD_API_URL and STYLEBOT_DISCORD_GATEWAY_URL (a proxy, or a fake Discord
in tests) instead of discord.com.

discord.py reads both from class attributes, process-wide: `Route.BASE` (the REST base, every call, interaction
callbacks and webhooks included, is `Route.BASE + path`) and `DiscordWebSocket.DEFAULT_GATEWAY` (a plain `Client`
connects there without asking GET /gateway/bot). `discord.http.set_api_version()` would reset the first, so it is
never called."""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

from settings import Settings


def point_at(settings: Settings) -> None:
    """Make discord.py use the settings' REST and gateway URLs (set before the client logs in)."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
