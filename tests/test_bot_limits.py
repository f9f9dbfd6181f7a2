"""The real bot under bursts, on both backends: requests from several chats of one user sent at once, a burst of
/savestyle, many photos without a style (stored bytes a day), and one bounded decode per picture."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from bot.core.images import DECODE_SLOTS, DecodeGate
from bot.telegram.services import services
from jobs.bot_stores import bot_stores
from jobs.storage import open_storage
from settings import Settings
from tests.support.backends import Backend
from tests.support.bot import ALICE, bot_settings, fake_api, is_status, private, running_bot
from tests.support.fakebotapi import FakeBotApi, TgChat
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(120)

GROUPS = [TgChat(-100900 - n, "supergroup", f"Group {n}") for n in range(6)]


def settings_for(backend: Backend, tmp_path: Path, api: FakeBotApi, **overrides: object) -> Settings:
    return bot_settings(
        tmp_path, api, database_url=backend.database_url, storage_url=backend.storage_url, **overrides
    )


def stored(settings: Settings, prefix: str) -> list[str]:
    return sorted(item.key for item in open_storage(settings.storage).objects(prefix))


async def test_requests_from_several_chats_at_once_stay_within_the_users_limit(
    backend: Backend, tmp_path: Path
) -> None:
    async with fake_api() as api:
        settings = settings_for(backend, tmp_path, api, max_queued_per_user=2, default_iterations=200)
        async with running_bot(settings):  # no worker: jobs stay queued
            for n, group in enumerate(GROUPS):
                api.user_photo(group, ALICE, picture((n * 30, 5, 5)), caption="/style mosaic")
            refused = await api.wait_for("sendMessage", lambda c: "already have 2 pictures" in c.text, count=4)
            assert len(refused) == 4
            statuses = [c for c in api.calls_to("sendPhoto") if is_status(c)]
            assert len(statuses) == 2, "a status message only for the jobs that were queued"
            async with bot_stores(settings) as opened:
                assert await opened.jobs.count_active(ALICE.id) == 2
                assert await opened.jobs.count_today(ALICE.id) == 2


async def test_a_burst_of_savestyle_keeps_one_picture_and_the_chats_limit(backend: Backend, tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = settings_for(backend, tmp_path, api, max_presets_per_chat=2)
        async with running_bot(settings):
            chat = private(ALICE)
            photo = api.user_photo(chat, ALICE, picture((250, 250, 0)))
            await api.wait_for("sendMessage", lambda c: "Got your photo" in c.text)
            for _ in range(5):
                api.user_text(chat, ALICE, "/savestyle mine", reply_to=photo)
            await api.wait_for("sendMessage", lambda c: "Saved the style “mine”" in c.text, count=5)
            async with bot_stores(settings) as opened:
                mine = await opened.presets.get("mine", chat.id)
                assert mine is not None
                assert stored(settings, f"presets/chat_{chat.id}/") == [mine.image_key], "no orphan picture"
            for n in range(4):
                api.user_text(chat, ALICE, f"/savestyle other{n}", reply_to=photo)
            await api.wait_for("sendMessage", lambda c: "already has 2 styles" in c.text, count=3)
            async with bot_stores(settings) as opened:
                kept = sorted(p.image_key for p in await opened.presets.list(chat.id) if p.chat_id == chat.id)
                assert await opened.presets.count(chat.id) == 2
            assert stored(settings, f"presets/chat_{chat.id}/") == kept


async def test_photos_without_a_style_replace_each_other_and_stop_at_the_days_bytes(
    backend: Backend, tmp_path: Path
) -> None:
    # Each captioned /style without a name: a photo waiting for its style, replacing the one before.
    photos = [picture((n * 50, 100, 10), size=(200, 150), fmt="PNG") for n in range(4)]
    cap = sum(len(p) for p in photos[:3])
    async with fake_api() as api:
        settings = settings_for(backend, tmp_path, api, max_upload_bytes_per_day=cap)
        async with running_bot(settings):
            chat = private(ALICE)
            for n, data in enumerate(photos[:3], start=1):
                api.user_document(chat, ALICE, data, mime_type="image/png", file_name=f"p{n}.png", caption="/style")
                await api.wait_for("sendMessage", lambda c: "Got your photo" in c.text, count=n)
                assert len(stored(settings, f"users/{ALICE.id}/uploads/")) == 1, "the replaced photo is deleted"
            api.user_document(chat, ALICE, photos[3], mime_type="image/png", file_name="p4.png", caption="/style")
            [refusal] = await api.wait_for("sendMessage", lambda c: "of pictures today" in c.text)
            assert "come back tomorrow" in refusal.text
            assert len(stored(settings, f"users/{ALICE.id}/uploads/")) == 1
            async with bot_stores(settings) as opened:  # /forget deletes the pictures, not the day's count
                await opened.jobs.forget_user(ALICE.id)
                await opened.chat_state.forget_user(ALICE.id)
            api.user_document(chat, ALICE, photos[3], mime_type="image/png", file_name="p5.png", caption="/style")
            await api.wait_for("sendMessage", lambda c: "of pictures today" in c.text, count=2)
            assert stored(settings, f"users/{ALICE.id}/") == []


async def test_a_picture_is_decoded_once_per_request(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, default_iterations=200)
        async with running_bot(settings) as app:
            gate = services(app).decodes
            before = gate.decodes
            api.user_photo(private(ALICE), ALICE, picture((9, 90, 9)), caption="/style mosaic")
            await api.wait_for("sendPhoto", is_status)
            assert gate.decodes - before == 1
            # A photo waiting for its style, then the style: each picture decoded once (its thumbnail is kept).
            chat = private(ALICE)
            api.user_photo(chat, ALICE, picture((90, 9, 9)))
            await api.wait_for("sendMessage", lambda c: "Got your photo" in c.text)
            api.user_photo(chat, ALICE, picture((9, 9, 90)))
            await api.wait_for("sendPhoto", is_status, count=2)
            assert gate.decodes - before == 3
            assert gate.peak <= DECODE_SLOTS


async def test_the_decode_gate_lets_only_its_slots_run_at_once() -> None:
    gate = DecodeGate(slots=2)
    lock, running, peak = threading.Lock(), [0], [0]
    two_in = threading.Event()
    release = threading.Event()

    def decode_call(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] == 2:
                two_in.set()
        release.wait()
        with lock:
            running[0] -= 1
        return n

    tasks = [asyncio.create_task(gate.run(decode_call, n)) for n in range(6)]
    await asyncio.to_thread(two_in.wait)
    release.set()  # the first two finish; the others follow, two at a time (the event stays set)
    assert sorted(await asyncio.gather(*tasks)) == list(range(6))
    assert peak[0] == 2 and gate.peak == 2 and gate.decodes == 6
