"""The instant sketch: sent as soon as a request is accepted, whether or not a painter is free."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.core import sketches
from bot.core.images import DecodeGate
from jobs.bot_stores import bot_stores
from tests.support.bot import ALICE, bot_settings, button, fake_api, is_result, is_status, private, running_bot, workers
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(90)


def is_sketch(call: Any) -> bool:
    return call.method == "sendPhoto" and call.status == 200 and "quick sketch" in (call.caption or "")


async def test_the_sketch_comes_first_even_with_no_painter_running(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, sketch=True)
        async with running_bot(settings):  # no worker: the painting waits, the sketch does not
            chat = private(ALICE)
            request = api.user_photo(chat, ALICE, picture((10, 200, 10), (96, 64)), caption="/style mosaic")
            [sketch] = await api.wait_for("sendPhoto", is_sketch, within_s=30)
            assert sketch.params["reply_parameters"]["message_id"] == request["message_id"]
            image = Image.open(io.BytesIO(sketch.files["photo"]))
            assert image.size == (96, 64)  # the photo's shape, never enlarged
            assert not [c for c in api.calls if is_result(c)]
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                await api.wait_for("sendPhoto", is_result, within_s=30)
        assert len([c for c in api.calls if is_sketch(c)]) == 1


async def test_no_sketch_when_it_is_turned_off(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, sketch=False)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                api.user_photo(private(ALICE), ALICE, picture((10, 200, 10)), caption="/style mosaic")
                await api.wait_for("sendPhoto", is_result, within_s=30)
        assert not [c for c in api.calls if is_sketch(c)]


async def test_sketch_only_answers_at_once_without_a_job_and_counts_for_the_day(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, sketch=True, max_jobs_per_day=2)
        async with running_bot(settings):  # no painter at all: a sketch-only answer needs none
            chat = private(ALICE)
            api.user_text(chat, ALICE, "/settings")
            [menu] = await api.wait_for("sendMessage", lambda c: "Sketch only: off" in c.text)
            api.tap(ALICE, api.message(menu), button(menu, "Sketch only")["callback_data"])
            await api.wait_for("editMessageText", lambda c: "Sketch only: on" in c.text)
            for n in range(3):
                api.user_photo(chat, ALICE, picture((10, 20 * n, 10)), caption="/style mosaic")
                await asyncio.sleep(0.5)
            sketches = await api.wait_for("sendPhoto", lambda c: "Your sketch" in (c.caption or ""), count=2)
            await api.wait_for("sendMessage", lambda c: "today's limit" in c.text)  # the third is refused
            assert len(sketches) == 2 and not [c for c in api.calls if is_status(c)], "no painting was queued"
        async with bot_stores(settings) as stores:
            assert await stores.jobs.history(ALICE.id) == []
            assert await stores.jobs.count_today(ALICE.id) == 2


@pytest.mark.parametrize(("waiting", "sent_first"), [(0, True), (3, False)])
async def test_a_painting_a_painter_would_start_at_once_waits_for_its_sketch(
    monkeypatch: pytest.MonkeyPatch, waiting: int, sent_first: bool
) -> None:
    """With no job waiting, the job is queued only once its sketch is out (else the painting could start first);
    behind other jobs, a slow sketch does not hold the job back."""
    monkeypatch.setattr(sketches, "HEAD_START_S", 0.05)
    monkeypatch.setattr(sketches, "IDLE_HEAD_START_S", 10.0)
    slow = asyncio.Event()
    sent: list[bytes] = []

    async def count_waiting() -> int:
        return waiting

    async def load() -> tuple[bytes, bytes]:
        await slow.wait()
        return b"photo", b"painting"

    async def send(jpeg: bytes) -> None:
        sent.append(jpeg)

    async def paint(content: bytes, style: bytes) -> bytes:
        return b"sketch of " + content

    drawer = sketches.Sketches(DecodeGate(), waiting=count_waiting)
    monkeypatch.setattr(drawer, "paint", paint)
    asyncio.get_running_loop().call_later(0.3, slow.set)
    await drawer.start(load, send, request="test")
    assert (sent == [b"sketch of photo"]) is sent_first
    await drawer.close()
