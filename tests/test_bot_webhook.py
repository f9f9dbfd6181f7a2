"""Webhooks: with STYLEBOT_WEBHOOK_URL the fake Bot API POSTs updates to python-telegram-bot's webhook server, as
Telegram does, with the registered secret; a request without it is refused and reaches no handler."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.telegram.app import build_application, serve, startup_error
from bot.telegram.webhook import MAX_BODY_BYTES, webhook_options
from settings import Settings
from tests.support.bot import (
    ALICE,
    FAST,
    bot_settings,
    fake_api,
    is_result,
    is_status,
    private,
    rate_limiter,
    running_bot,
    workers,
)
from tests.support.fakebotapi import FakeBotApi
from tests.support.pictures import picture
from worker.pool import PROJECT_ROOT

pytestmark = pytest.mark.timeout(60)

SECRET = "operator-chosen_secret-42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def webhook_settings(tmp_path: Path, api: FakeBotApi, **overrides: Any) -> Settings:
    """Settings whose webhook server listens on a free port of 127.0.0.1, under a path of its URL."""
    port = free_port()
    values: dict[str, Any] = {
        "webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }
    return bot_settings(tmp_path, api, **{**values, **overrides})


def help_update(update_id: int) -> dict[str, Any]:
    """A /help from Alice, made by hand (not queued in the fake API)."""
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": private(ALICE).as_dict(),
        "from": ALICE.as_dict(),
        "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }
    return {"update_id": update_id, "message": message}


async def test_updates_come_through_the_webhook_and_a_whole_flow_works(tmp_path: Path) -> None:
    """setWebhook with a random secret, no polling; /help is answered, /style on a photo is painted and delivered."""
    async with fake_api() as api:
        settings = webhook_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                [hook] = api.calls_to("setWebhook")
                assert hook.params["url"] == settings.webhook_url
                assert len(hook.params["secret_token"]) >= 32, "no secret set: a random one is made"
                assert {"message", "callback_query", "inline_query"} <= set(hook.params["allowed_updates"])
                chat = private(ALICE)
                api.user_text(chat, ALICE, "/help")
                await api.wait_for("sendMessage", lambda c: "/presets" in c.text)
                request = api.user_photo(chat, ALICE, picture((10, 200, 10)), caption="/style mosaic")
                await api.wait_for("sendPhoto", is_status)
                [result] = await api.wait_for("sendPhoto", is_result, within_s=20)
                assert result.params["reply_parameters"]["message_id"] == request["message_id"]
                assert not api.calls_to("getUpdates", ok_only=False), "no long polling"
                assert [post.status for post in api.webhook_posts] == [200, 200]
                assert api.delivered_update_ids == [1, 2]
        assert api.webhook is not None, "a stopping bot leaves its webhook: Telegram keeps the updates meanwhile"


async def test_a_request_without_the_right_secret_is_refused_and_reaches_no_handler(tmp_path: Path) -> None:
    """403 from the webhook server for a missing or wrong secret; Telegram's retry with the right one gets in."""
    reached: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        reached.append(update.update_id)

    async with fake_api() as api:
        settings = webhook_settings(tmp_path, api, webhook_secret=SECRET)
        app = build_application(settings, tuning=FAST, rate_limiter=rate_limiter())
        app.add_handler(TypeHandler(Update, record), group=-2)  # before every handler of the bot's
        async with serve(app):
            [hook] = api.calls_to("setWebhook")
            assert hook.params["secret_token"] == SECRET
            assert await api.post_to_webhook(help_update(900), secret=None) == 403
            assert await api.post_to_webhook(help_update(901), secret="forged") == 403
            assert await api.post_to_webhook(help_update(902), secret=SECRET[:-1]) == 403

            api.secret_override = "forged"  # someone else's requests, until Telegram's own retry
            api.user_text(private(ALICE), ALICE, "/help")
            await api.wait_for_webhook_posts(5)
            await asyncio.sleep(0.2)
            assert reached == [] and not api.calls_to("sendMessage")
            assert {post.status for post in api.webhook_posts} == {403}

            api.secret_override = None
            await api.wait_for("sendMessage", lambda c: "/presets" in c.text)
            assert reached == [1] and api.webhook_posts[-1].status == 200


async def test_a_too_large_body_is_refused_and_the_bot_keeps_working(tmp_path: Path) -> None:
    """Updates are small: the webhook server refuses a body over MAX_BODY_BYTES before reading it."""
    async with fake_api() as api:
        settings = webhook_settings(tmp_path, api, webhook_secret=SECRET)
        async with running_bot(settings):
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
            body = b'{"update_id": 5, "padding": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
            async with aiohttp.ClientSession() as client:
                try:
                    async with client.post(settings.webhook_url, data=body, headers=headers) as response:
                        status = response.status
                except aiohttp.ClientError:  # the server may close the connection while the body is being sent
                    status = 0
            assert status in (0, 400, 413)
            assert await api.post_to_webhook(help_update(6), secret=SECRET) == 200, "the bot still takes updates"
            await api.wait_for("sendMessage", lambda c: "/presets" in c.text)


async def test_polling_again_after_a_webhook_takes_what_waited(tmp_path: Path) -> None:
    """Updates sent while the bot is down wait at Telegram; a restart without the webhook deletes it and polls them."""
    async with fake_api() as api:
        settings = webhook_settings(tmp_path, api)
        async with running_bot(settings):
            pass
        api.user_text(private(ALICE), ALICE, "/help")
        async with running_bot(dataclasses.replace(settings, webhook_url="")):
            await api.wait_for("sendMessage", lambda c: "/presets" in c.text)
            assert api.webhook is None and api.calls_to("deleteWebhook")


async def test_run_bot_serves_the_webhook_until_sigterm(tmp_path: Path) -> None:
    """The production path: `python -m bot` (run_bot, run_webhook) answers through the webhook and stops on SIGTERM."""
    log = tmp_path / "bot.log"
    async with fake_api() as api:
        settings = webhook_settings(tmp_path, api, webhook_secret=SECRET)
        assert settings.presets_dir is not None
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
            "STYLEBOT_TOKEN": settings.token,
            "STYLEBOT_API_URL": settings.api_url,
            "STYLEBOT_FILE_URL": settings.file_url,
            "STYLEBOT_DATA_DIR": str(settings.data_dir),
            "STYLEBOT_PRESETS_DIR": str(settings.presets_dir),
            "STYLEBOT_WEBHOOK_URL": settings.webhook_url,
            "STYLEBOT_WEBHOOK_LISTEN": settings.webhook_listen,
            "STYLEBOT_WEBHOOK_PORT": str(settings.webhook_port),
            "STYLEBOT_WEBHOOK_SECRET": SECRET,
        }
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out
            )
        try:
            api.user_text(private(ALICE), ALICE, "/help")
            await api.wait_for("sendMessage", lambda c: "/presets" in c.text, within_s=30)
            assert api.calls_to("setWebhook")[0].params["secret_token"] == SECRET
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 20) == 0, log.read_text()[-3000:]
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert not api.calls_to("getUpdates", ok_only=False)
        assert await api.post_to_webhook(help_update(999), secret=SECRET) == 0, "the server is closed"


def test_webhook_options_follow_the_settings() -> None:
    settings = Settings(webhook_url="https://bot.example.com/tg/hook", webhook_port=8443)
    first, second = webhook_options(settings), webhook_options(settings)
    assert first["listen"] == "127.0.0.1" and first["port"] == 8443, "behind the TLS proxy on this machine"
    assert first["url_path"] == "tg/hook" and first["webhook_url"] == "https://bot.example.com/tg/hook"
    assert first["secret_token"] != second["secret_token"], "a fresh random secret at each start"
    assert webhook_options(Settings(webhook_url="https://x.example", webhook_secret=SECRET))["secret_token"] == SECRET


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"webhook_url": "bot.example.com/hook"}, "STYLEBOT_WEBHOOK_URL='bot.example.com/hook' is not a URL"),
        ({"webhook_url": "ftp://bot.example.com"}, "STYLEBOT_WEBHOOK_URL='ftp://bot.example.com' is not a URL"),
        ({"webhook_secret": "has spaces"}, "STYLEBOT_WEBHOOK_SECRET must be 1-256 characters"),
        ({"webhook_secret": "x" * 257}, "STYLEBOT_WEBHOOK_SECRET must be 1-256 characters"),
        ({"webhook_port": 0}, "STYLEBOT_WEBHOOK_PORT=0 is not a port"),
    ],
)
def test_bad_webhook_settings_stop_the_start_with_one_line(changes: dict[str, Any], line: str) -> None:
    settings = Settings(**{"token": "1:x", "webhook_url": "https://bot.example.com/hook", **changes})
    problem = startup_error(settings)
    assert problem is not None and problem.startswith(line) and "\n" not in problem
    if "secret" in line:
        assert changes["webhook_secret"] not in problem, "a secret is never echoed"


def test_webhook_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "STYLEBOT_WEBHOOK_URL": "https://bot.example.com/hook",
            "STYLEBOT_WEBHOOK_LISTEN": "127.0.0.1",
            "STYLEBOT_WEBHOOK_PORT": "9443",
            "STYLEBOT_WEBHOOK_SECRET": SECRET,
        }
    )
    assert (settings.webhook_url, settings.webhook_listen, settings.webhook_port, settings.webhook_secret) == (
        "https://bot.example.com/hook",
        "127.0.0.1",
        9443,
        SECRET,
    )
    assert Settings().webhook_url == "" and Settings().webhook_port == 8443, "polling stays the default"
