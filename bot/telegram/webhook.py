"""Taking updates through a webhook (STYLEBOT_WEBHOOK_URL) instead of long polling: what to pass to
python-telegram-bot's `Updater.start_webhook` / `Application.run_webhook`, checked before anything starts."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from telegram import Update

from settings import Settings

SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as a secret_token
MAX_BODY_BYTES = 1024 * 1024  # an update is a few kilobytes (files are fetched apart): a bigger body is refused


def limit_request_bodies(max_bytes: int = MAX_BODY_BYTES) -> None:
    """Make the webhook server refuse a request body over `max_bytes` before reading it (tornado answers 400 and
    closes the connection). python-telegram-bot builds the tornado HTTPServer itself, so the limit is set as
    tornado's default for every HTTPServer of this process (the webhook server is the bot's only one)."""
    from tornado.httpserver import HTTPServer

    HTTPServer.configure(None, max_body_size=max_bytes)


def webhook_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `start_webhook`/`run_webhook` for these settings (ValueError names what is wrong).

    The webhook server answers on the URL's path; it speaks plain HTTP, so TLS is a reverse proxy's job."""
    url = settings.webhook_url
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"STYLEBOT_WEBHOOK_URL={url!r} is not a URL like https://bot.example.com/telegram")
    if not 0 < settings.webhook_port < 65536:
        raise ValueError(f"STYLEBOT_WEBHOOK_PORT={settings.webhook_port} is not a port (1-65535)")
    secret = settings.webhook_secret
    if secret and not SECRET_PATTERN.fullmatch(secret):
        raise ValueError("STYLEBOT_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": parts.path.lstrip("/"),
        "webhook_url": url,
        # setWebhook hands Telegram the secret at every start, so a fresh random one is always in step with it.
        "secret_token": secret or secrets.token_urlsafe(32),
        "allowed_updates": Update.ALL_TYPES,
    }
