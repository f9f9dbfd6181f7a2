"""A public bot under real traffic: limits before any download, a full queue, chat styles only admins may
change, anonymous admins kept apart, and a refusal that is not repeated to a stranger every message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jobs.bot_stores import bot_stores
from tests.support.bot import ALICE, BOB, GROUP, bot_settings, fake_api, is_status, private, running_bot
from tests.support.fakebotapi import ANONYMOUS_ADMIN_ID, TgChat, TgUser
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)

ANONYMOUS = TgUser(ANONYMOUS_ADMIN_ID, "Group", "GroupAnonymousBot")
OTHER_GROUP = TgChat(-100777, "supergroup", "Sculptors")


async def test_limits_are_checked_before_anything_is_downloaded(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, max_queued_per_user=1, default_iterations=200)
        async with running_bot(settings):  # no worker: jobs stay queued
            chat = private(ALICE)
            api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
            await api.wait_for("sendPhoto", is_status)
            fetched = len(api.calls_to("getFile"))
            api.user_photo(chat, ALICE, picture((9, 9, 9)))  # a new photo to paint: refused before fetching it
            await api.wait_for("sendMessage", lambda c: "already have 1 picture" in c.text)
            assert len(api.calls_to("getFile")) == fetched


async def test_a_full_queue_turns_requests_away_without_storing_anything(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, max_queue=1, default_iterations=200)
        async with running_bot(settings):
            api.user_photo(private(ALICE), ALICE, picture(), caption="/style mosaic")
            await api.wait_for("sendPhoto", is_status)
            fetched = len(api.calls_to("getFile"))
            api.user_photo(private(BOB), BOB, picture((1, 1, 1)), caption="/style mosaic")
            [busy] = await api.wait_for("sendMessage", lambda c: "very busy" in c.text)
            assert "try again in a few minutes" in busy.text and int(busy.params["chat_id"]) == BOB.id
            assert len(api.calls_to("getFile")) == fetched
            assert not (settings.files_dir / "users" / str(BOB.id)).exists(), "nothing half-stored"


async def test_only_chat_admins_change_or_delete_a_groups_styles(tmp_path: Path) -> None:
    async with fake_api() as api:
        api.chat_admins[GROUP.id] = {ALICE.id}
        settings = bot_settings(tmp_path, api, max_presets_per_chat=2)
        async with running_bot(settings):
            style = api.user_photo(GROUP, ALICE, picture((250, 250, 0)), caption="/style")
            await api.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == GROUP.id)
            api.user_text(GROUP, BOB, "/savestyle sunny", reply_to=style)  # any member may add one
            await api.wait_for("sendMessage", lambda c: "Saved the style “sunny” for this chat" in c.text)
            api.user_text(GROUP, BOB, "/savestyle sunny", reply_to=style)  # but not overwrite it
            await api.wait_for("sendMessage", lambda c: "Only this group's admins can change" in c.text)
            api.user_text(GROUP, BOB, "/deletestyle sunny")
            await api.wait_for("sendMessage", lambda c: "Only this group's admins can delete" in c.text)
            api.user_text(GROUP, ALICE, "/savestyle sunny", reply_to=style)  # an admin may
            await api.wait_for("sendMessage", lambda c: c.text.count("Saved the style “sunny”") == 1, count=2)
            api.user_text(GROUP, BOB, "/savestyle rainy", reply_to=style)
            await api.wait_for("sendMessage", lambda c: "Saved the style “rainy”" in c.text)
            api.user_text(GROUP, BOB, "/savestyle misty", reply_to=style)  # the chat's limit is 2
            await api.wait_for("sendMessage", lambda c: "already has 2 styles" in c.text)
            api.user_text(GROUP, ALICE, "/deletestyle rainy")
            await api.wait_for("sendMessage", lambda c: "Deleted the style “rainy”" in c.text)
            async with bot_stores(settings) as opened:
                names = [p.name for p in await opened.presets.list(GROUP.id) if p.chat_id == GROUP.id]
                assert names == ["sunny"]
                assert await opened.presets.count(GROUP.id) == 1
            assert len(api.calls_to("getChatMember")) <= 2, "admin answers are cached"


async def test_anonymous_admins_of_two_groups_never_mix(tmp_path: Path) -> None:
    """Both post as GroupAnonymousBot (one user id); each group's identity is its own."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, default_iterations=200)
        async with running_bot(settings):
            api.user_photo(GROUP, ANONYMOUS, picture((1, 100, 1)), caption="/style", sender_chat=GROUP)
            await api.wait_for("sendMessage", lambda c: "style" in c.text.lower())
            # The other group's anonymous admin has no photo waiting, although the user id is the same.
            api.user_text(OTHER_GROUP, ANONYMOUS, "/style mosaic", sender_chat=OTHER_GROUP)
            await api.wait_for("sendMessage", lambda c: "First send me the photo" in c.text)
            api.user_text(GROUP, ANONYMOUS, "/style mosaic", sender_chat=GROUP)
            [status] = await api.wait_for("sendPhoto", is_status)
            assert int(status.params["chat_id"]) == GROUP.id
            async with bot_stores(settings) as opened:
                [job] = await opened.jobs.active()
                assert job.user_id == GROUP.id and job.user_name == "Painters"
                assert await opened.jobs.history(ANONYMOUS_ADMIN_ID) == []
                assert await opened.jobs.history(OTHER_GROUP.id) == []


async def test_a_stranger_is_refused_once_an_hour(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, allowed_users=frozenset({ALICE.id}))
        async with running_bot(settings):
            for n in range(3):
                api.user_text(private(BOB), BOB, f"/start {n}")
            await api.wait_for("sendMessage", lambda c: "this bot is private" in c.text)
            await asyncio.sleep(0.5)
            assert len(api.calls_to("sendMessage")) == 1


async def test_forget_deletes_private_styles_keeps_group_ones_and_the_daily_count(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, max_jobs_per_day=1, default_iterations=200)
        async with running_bot(settings):
            chat = private(ALICE)
            mine = api.user_photo(chat, ALICE, picture((5, 5, 250)), caption="/style mosaic")
            await api.wait_for("sendPhoto", is_status)
            api.user_text(chat, ALICE, "/savestyle blue", reply_to=mine)
            await api.wait_for("sendMessage", lambda c: "Saved the style “blue” for you" in c.text)
            group_photo = api.user_photo(GROUP, ALICE, picture((250, 5, 5)), caption="/style")
            await api.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == GROUP.id)
            api.user_text(GROUP, ALICE, "/savestyle red", reply_to=group_photo)
            await api.wait_for("sendMessage", lambda c: "Saved the style “red” for this chat" in c.text)

            api.user_text(chat, ALICE, "/help")
            [help_text] = await api.wait_for("sendMessage", lambda c: "What /forget keeps" in c.text)
            assert "daily limit" in help_text.text and "30 days" in help_text.text
            api.user_text(chat, ALICE, "/forget")
            [ask] = await api.wait_for("sendMessage", lambda c: "Delete all your pictures" in c.text)
            yes = next(b for b in ask.buttons() if b["text"].startswith("Yes"))
            api.tap(ALICE, api.message(ask), yes["callback_data"])
            await api.wait_for("editMessageText", lambda c: "1 saved style" in c.text)
            async with bot_stores(settings) as opened:
                assert await opened.presets.get("blue", ALICE.id) is None
                assert await opened.presets.get("red", GROUP.id) is not None
            api.user_photo(chat, ALICE, picture((1, 2, 3)), caption="/style mosaic")  # the daily limit holds
            await api.wait_for("sendMessage", lambda c: "today's limit of 1" in c.text)
