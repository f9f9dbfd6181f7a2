"""Deep links and albums: a shared style link chooses the style before the photo; an album captioned
`/style <name>` paints each of its photos, as far as the user's limits go; a shared result carries the link."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bot import (
    ALICE,
    BOB,
    GROUP,
    bot_settings,
    fake_api,
    is_result,
    is_status,
    private,
    running_bot,
    workers,
)
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)


async def test_a_style_link_paints_the_next_photo_with_that_style(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                chat = private(BOB)
                api.user_text(chat, BOB, "/start style-the_scream")
                await api.wait_for("sendMessage", lambda c: "paint it in the style “the scream”" in c.text)
                api.user_photo(chat, BOB, picture((20, 90, 160)))
                [result] = await api.wait_for("sendPhoto", is_result, within_s=20)
                assert "the scream" in result.caption
                assert not any("Now send the style" in c.text for c in api.calls_to("sendMessage"))
                api.user_photo(chat, BOB, picture((90, 20, 160)))  # used up: the next photo waits for a style
                await api.wait_for("sendMessage", lambda c: "Now send the style picture" in c.text)
                api.user_text(chat, BOB, "/start style-no_such_style")
                await api.wait_for("sendMessage", lambda c: "I don't have the style “no_such_style”" in c.text)


async def test_an_album_captioned_with_a_style_paints_each_photo(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                chat = private(ALICE)
                api.user_photo(chat, ALICE, picture((1, 2, 3)), caption="/style mosaic", media_group_id="trip")
                api.user_photo(chat, ALICE, picture((100, 2, 3)), media_group_id="trip")
                api.user_photo(chat, ALICE, picture((1, 200, 3)), media_group_id="trip")
                results = await api.wait_for("sendPhoto", is_result, count=3, within_s=30)
                assert all("mosaic" in c.caption for c in results)
                assert len({c.params["reply_parameters"]["message_id"] for c in results}) == 3, "one per photo"


async def test_an_album_beyond_the_limit_says_which_photos_were_left_out(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, max_queued_per_user=2, default_iterations=200)
        async with running_bot(settings):  # no worker: the jobs stay queued
            for n in range(4):
                api.user_photo(
                    GROUP, ALICE, picture((n, 50, 50)), caption="/style mosaic" if n == 0 else None,
                    media_group_id="party",
                )
            await api.wait_for("sendPhoto", is_status, count=2)
            [note] = await api.wait_for("sendMessage", lambda c: "left out" in c.text)
            assert "painting 2 of your 4 photos; the rest are left out" in note.text
            assert "already have 2 pictures in the queue" in note.text


async def test_a_shared_result_links_to_its_style(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                api.user_photo(private(ALICE), ALICE, picture(), caption="/style starry_night")
                await api.wait_for("sendPhoto", is_result, within_s=20)
                [shared] = await api.inline_answer(ALICE, until=bool)
                [[link]] = shared["reply_markup"]["inline_keyboard"]
                assert link["url"] == f"https://t.me/{api.username}?start=style-starry_night"
