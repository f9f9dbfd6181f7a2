"""End to end: the real PTB client against the fake Bot API, the SQLite store and fake-engine workers."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from jobs.bot_stores import bot_stores
from tests.support.bot import (
    ADMIN,
    ALICE,
    BOB,
    GROUP,
    bot_settings,
    button,
    fake_api,
    is_result,
    is_status,
    private,
    running_bot,
    workers,
)
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)


async def test_photo_then_photo_private(tmp_path: Path) -> None:
    """Content then style: acknowledgement with position, progress edits, preview, one result with buttons."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=1.0):
            async with running_bot(settings):
                chat = private(ALICE)
                api.user_photo(chat, ALICE, picture((10, 200, 10)))
                prompt = (await api.wait_for("sendMessage"))[0]
                assert "style" in prompt.text.lower()
                assert any(b["callback_data"].startswith(f"p:{ALICE.id}:") for b in prompt.buttons())
                request = api.user_photo(chat, ALICE, picture((200, 10, 10)))
                [status] = await api.wait_for("sendPhoto", is_status)
                assert "next in line" in status.caption
                [result] = await api.wait_for("sendPhoto", is_result, within_s=20)
                assert result.params["reply_parameters"]["message_id"] == request["message_id"]
                assert "your style picture" in result.caption and "iterations" in result.caption
                assert "strength 1×" in result.caption
                status_id = api.message(status)["message_id"]
                edits = [c for c in api.calls_to("editMessageCaption") if int(c.params["message_id"]) == status_id]
                assert any("%" in c.caption and "▰" in c.caption for c in edits)
                assert api.calls_to("editMessageMedia"), "a preview picture was shown"
                assert api.calls_to("sendChatAction")[0].params["action"] == "upload_photo"
                await api.wait_for("deleteMessage")
                await asyncio.sleep(0.3)  # nothing more arrives: delivered exactly once
                assert len([c for c in api.calls if is_result(c)]) == 1


async def test_album_captioned_preset_document_and_reply_flows(tmp_path: Path) -> None:
    """An album pairs content+style; a captioned photo, a later /style, a preset tap; documents keep quality."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                chat = private(ALICE)
                api.user_photo(chat, ALICE, picture((1, 2, 3)), media_group_id="album1")
                api.user_photo(chat, ALICE, picture((200, 100, 0)), media_group_id="album1")
                await api.wait_for("sendPhoto", is_result, within_s=20)
                assert not api.calls_to("sendMessage"), "an album needs no prompt"

                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                await api.wait_for("sendPhoto", lambda c: is_result(c) and "mosaic" in c.caption, within_s=20)

                original = picture((5, 5, 250), size=(300, 200), fmt="PNG")
                api.user_document(chat, ALICE, original, mime_type="image/png", file_name="big.png")
                await api.wait_for("sendMessage", lambda c: "style" in c.text.lower(), count=1)
                api.user_text(chat, ALICE, "/style starry night")
                await api.wait_for("sendPhoto", lambda c: is_result(c) and "starry night" in c.caption, within_s=20)
                uploads = list((settings.files_dir / "users" / str(ALICE.id) / "uploads").glob("*.png"))
                assert [p.read_bytes() for p in uploads] == [original], "the file is kept byte for byte"

                api.user_photo(chat, ALICE, picture((0, 90, 90)))
                prompts = await api.wait_for("sendMessage", lambda c: any(b for b in c.buttons()), count=2)
                prompt = prompts[-1]
                tap = button(prompt, "the scream")
                api.tap(ALICE, api.message(prompt), tap["callback_data"])
                api.tap(ALICE, api.message(prompt), tap["callback_data"])  # a double tap makes one job
                await api.wait_for("sendPhoto", lambda c: is_result(c) and "the scream" in c.caption, within_s=20)
                await asyncio.sleep(0.5)
                assert len([c for c in api.calls if is_result(c) and "the scream" in c.caption]) == 1
                assert len([c for c in api.calls if is_result(c)]) == 4


async def test_group_flows_keep_members_apart(tmp_path: Path) -> None:
    """Groups: reply with /style@Bot, reply with a captioned picture; results reply and name the requester."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                alice_photo = api.user_photo(GROUP, ALICE, picture((100, 0, 0)))
                api.user_photo(GROUP, BOB, picture((0, 100, 0)))
                await asyncio.sleep(0.3)
                assert not api.calls_to("sendMessage"), "plain group photos are not for the bot"

                api.user_text(GROUP, BOB, "/style@OtherBot mosaic", reply_to=alice_photo)
                command = api.user_text(GROUP, BOB, "/style@StyleTestBot mosaic", reply_to=alice_photo)
                [result] = await api.wait_for("sendPhoto", is_result, within_s=20)
                assert result.params["reply_parameters"]["message_id"] == command["message_id"]
                assert f"tg://user?id={BOB.id}" in result.caption and "Bob" in result.caption

                # Bob's photo in reply to Alice's, captioned /style: Alice's photo in Bob's picture's style.
                request = api.user_photo(GROUP, BOB, picture((0, 0, 200)), caption="/style", reply_to=alice_photo)
                [_, second] = await api.wait_for("sendPhoto", is_result, count=2, within_s=20)
                assert second.params["reply_parameters"]["message_id"] == request["message_id"]
                assert "your style picture" in second.caption

                # Alice has nothing waiting: Bob's photos never become hers.
                api.user_text(GROUP, ALICE, "/style mosaic")
                [reply] = await api.wait_for("sendMessage", lambda c: "First send me the photo" in c.text)
                assert int(reply.params["chat_id"]) == GROUP.id

                # A captioned photo in the group, with the @BotName form.
                api.user_photo(GROUP, ALICE, picture((9, 9, 9)), caption="/style@StyleTestBot the_scream")
                [*_, third] = await api.wait_for("sendPhoto", is_result, count=3, within_s=20)
                assert "Alice" in third.caption and "the scream" in third.caption
                assert not any("OtherBot" in c.text for c in api.calls_to("sendMessage"))


async def test_presets_savestyle_addpreset_and_unknown_names(tmp_path: Path) -> None:
    """/presets with thumbnails; /savestyle for a chat, /addpreset for admins only; unknown names get hints."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        async with running_bot(settings):
            chat = private(ALICE)
            api.user_text(chat, ALICE, "/presets")
            [album] = await api.wait_for("sendMediaGroup")
            assert [m["caption"] for m in album.params["media"]] == ["mosaic", "starry_night", "the_scream"]
            [listing] = await api.wait_for("sendMessage")
            assert len(listing.buttons()) == 3

            api.user_text(chat, ALICE, "/style mosiac")
            [hint] = await api.wait_for("sendMessage", lambda c: "don't know" in c.text)
            assert "“mosaic”" in hint.text

            style = api.user_photo(GROUP, ALICE, picture((250, 250, 0)), caption="/style")
            await api.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == GROUP.id)
            api.user_text(GROUP, BOB, "/savestyle Sunny Day", reply_to=style)
            await api.wait_for("sendMessage", lambda c: "Saved the style “sunny_day” for this chat" in c.text)
            api.user_text(GROUP, BOB, "/addpreset sunny", reply_to=style)
            await api.wait_for("sendMessage", lambda c: "Only the bot's admins" in c.text)
            api.user_text(GROUP, ADMIN, "/addpreset golden", reply_to=style)
            await api.wait_for("sendMessage", lambda c: "“golden” for everyone" in c.text)

            async with bot_stores(settings) as opened:
                assert [p.name for p in await opened.presets.list(GROUP.id)] == [
                    "golden",
                    "mosaic",
                    "starry_night",
                    "sunny_day",
                    "the_scream",
                ]
                assert "sunny_day" not in [p.name for p in await opened.presets.list(ALICE.id)]


async def test_settings_buttons_and_result_buttons(tmp_path: Path) -> None:
    """/settings changes what the next job uses; Stronger, Full-size file and Share under a result."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                chat = private(ALICE)
                api.user_text(chat, ALICE, "/settings")
                [panel] = await api.wait_for("sendMessage")
                api.tap(ALICE, api.message(panel), button(panel, "0.5×")["callback_data"])
                api.tap(BOB, api.message(panel), button(panel, "fast")["callback_data"])  # not Bob's panel
                await api.wait_for("editMessageText", lambda c: "Strength: 0.5×" in c.text)
                [edited] = api.calls_to("editMessageText")
                api.tap(
                    ALICE,
                    api.messages[(chat.id, int(edited.params["message_id"]))],
                    button(edited, "256px")["callback_data"],
                )
                api.tap(
                    ALICE,
                    api.messages[(chat.id, int(edited.params["message_id"]))],
                    button(edited, "Keep colours")["callback_data"],
                )
                await api.wait_for("editMessageText", lambda c: "Keep colours: yes" in c.text)

                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                [result] = await api.wait_for("sendPhoto", is_result, within_s=20)
                assert "strength 0.5×" in result.caption and "keep colours" in result.caption

                message = api.message(result)
                api.tap(ALICE, message, button(result, "Stronger")["callback_data"])
                [_, stronger] = await api.wait_for("sendPhoto", is_result, count=2, within_s=20)
                assert "strength 1×" in stronger.caption
                assert stronger.params["reply_parameters"]["message_id"] == message["message_id"]

                api.tap(BOB, message, button(result, "Weaker")["callback_data"])
                api.tap(ALICE, message, button(result, "Full-size file")["callback_data"])
                [document] = await api.wait_for("sendDocument")
                assert document.files["document"][:8] == b"\x89PNG\r\n\x1a\n"

                share = button(result, "Share")
                job_ref = share["switch_inline_query"]
                api.inline_query(ALICE, job_ref)
                [inline] = await api.wait_for("answerInlineQuery")
                results = inline.params["results"]
                assert len(results) == 2 and results[0]["id"] == job_ref.lstrip("#")
                assert results[0]["photo_file_id"] == message["photo"][-1]["file_id"]
                await asyncio.sleep(0.2)
                assert len([c for c in api.calls if is_result(c)]) == 2, "Bob's tap made no job"


async def test_cancel_history_forget_stats(tmp_path: Path) -> None:
    """/cancel and the Cancel button stop jobs; /history offers Redo; /forget deletes; /stats for admins."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, default_iterations=200)
        with workers(settings, seconds=30):
            async with running_bot(settings):
                chat = private(ALICE)
                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                [status] = await api.wait_for("sendPhoto", is_status)
                await api.wait_for("editMessageCaption", lambda c: "Painting" in c.caption)
                api.tap(BOB, api.message(status), "cancel")
                api.tap(ALICE, api.message(status), "cancel")
                await api.wait_for("editMessageCaption", lambda c: c.caption == "⏹ Cancelled.", within_s=20)

                api.user_photo(chat, ALICE, picture(), caption="/style starry_night")
                await api.wait_for("sendPhoto", is_status, count=2)
                api.user_text(chat, ALICE, "/cancel")
                await api.wait_for("sendMessage", lambda c: c.text == "Cancelled 1 picture.")
                await api.wait_for("editMessageCaption", lambda c: c.caption == "⏹ Cancelled.", count=2, within_s=20)
                api.user_text(chat, ALICE, "/cancel")
                await api.wait_for("sendMessage", lambda c: "nothing to cancel" in c.text)

                api.user_text(chat, ALICE, "/history")
                [history] = await api.wait_for("sendMessage", lambda c: "recent pictures" in c.text)
                assert "cancelled" in history.text and len(history.buttons()) == 2

                api.user_text(chat, ALICE, "/stats")
                await api.wait_for("sendMessage", lambda c: "for the bot's admins" in c.text)
                api.user_text(private(ADMIN), ADMIN, "/stats")
                [stats] = await api.wait_for("sendMessage", lambda c: "Last 24 h" in c.text)
                assert "2 jobs" in stats.text

                api.user_text(chat, ALICE, "/forget")
                [ask] = await api.wait_for("sendMessage", lambda c: "Delete all your pictures" in c.text)
                api.tap(ALICE, api.message(ask), button(ask, "Yes")["callback_data"])
                await api.wait_for("editMessageText", lambda c: "2 pictures" in c.text)
                assert not (settings.files_dir / "users" / str(ALICE.id)).exists()
                api.user_text(chat, ALICE, "/history")
                await api.wait_for("sendMessage", lambda c: "haven't asked me" in c.text)


async def test_bad_inputs_are_refused_with_one_clear_message(tmp_path: Path) -> None:
    """A PDF, a corrupt JPEG, an oversize file, a tiny image: one message each, nothing downloaded needlessly."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        async with running_bot(settings):
            chat = private(ALICE)
            api.user_document(chat, ALICE, b"%PDF-1.4 ...", mime_type="application/pdf", file_name="a.pdf")
            await api.wait_for("sendMessage", lambda c: "not application/pdf files" in c.text)
            api.user_photo(chat, ALICE, picture(), file_size=25 * 1024 * 1024)
            await api.wait_for("sendMessage", lambda c: "up to 20 MB" in c.text)
            assert not api.calls_to("getFile"), "checked before downloading"
            corrupt = picture(size=(200, 200))[:300]
            api.user_photo(chat, ALICE, corrupt, caption="/style mosaic")
            await api.wait_for("sendMessage", lambda c: "seems damaged" in c.text)
            api.user_photo(chat, ALICE, picture(size=(8, 8)))
            await api.wait_for("sendMessage", lambda c: "at least 16 px" in c.text)
            await asyncio.sleep(0.2)
            assert len(api.calls_to("sendMessage")) == 4
            assert not list(settings.files_dir.rglob("*.jpg")), "nothing bad was saved"


async def test_quotas_and_allow_list(tmp_path: Path) -> None:
    """Per-user queue limit (admins exempt) and the allow-list of users and chats."""
    async with fake_api() as api:
        settings = bot_settings(
            tmp_path, api, max_queued_per_user=1, allowed_users=frozenset({ALICE.id}), default_iterations=200
        )
        async with running_bot(settings):  # no worker: jobs stay queued
            chat = private(ALICE)
            api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
            await api.wait_for("sendPhoto", is_status)
            api.user_photo(chat, ALICE, picture((1, 1, 1)), caption="/style mosaic")
            await api.wait_for("sendMessage", lambda c: "already have 1 picture" in c.text)
            for _ in range(2):
                api.user_photo(private(ADMIN), ADMIN, picture(), caption="/style mosaic")
            await api.wait_for("sendPhoto", is_status, count=3)
            api.user_text(private(BOB), BOB, "/start")
            await api.wait_for("sendMessage", lambda c: "this bot is private" in c.text)
            assert len(api.calls_to("sendPhoto")) == 3


async def test_restart_with_jobs_in_flight(tmp_path: Path) -> None:
    """Stop the bot while jobs run; a new one on the same data dir delivers each result exactly once."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=1.5):
            chat = private(ALICE)
            async with running_bot(settings):
                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                api.user_photo(private(ADMIN), ADMIN, picture(), caption="/style the_scream")
                await api.wait_for("sendPhoto", is_status, count=2)
                await api.wait_for("editMessageCaption", lambda c: "Painting" in c.caption)
            stopped_at = len(api.calls)
            assert not any(is_result(c) for c in api.calls)
            async with running_bot(settings):
                results = await api.wait_for("sendPhoto", is_result, count=2, within_s=30)
                await asyncio.sleep(0.5)
            assert len([c for c in api.calls if is_result(c)]) == 2
            assert {c.chat_id for c in results} == {ALICE.id, ADMIN.id}
            assert all(api.calls.index(c) >= stopped_at for c in results)
            # And a third start sends nothing again.
            before = len([c for c in api.calls if is_result(c)])
            async with running_bot(settings):
                await asyncio.sleep(0.5)
            assert len([c for c in api.calls if is_result(c)]) == before


async def test_flood_429_is_waited_out(tmp_path: Path) -> None:
    """A 429 with retry_after on sending the result is waited out and retried; the result arrives once."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                api.fail_next("sendMessage", 1, retry_after=1)
                api.user_text(private(ALICE), ALICE, "/help")
                [helped] = await api.wait_for("sendMessage", within_s=10)
                failed = [c for c in api.calls if c.method == "sendMessage" and c.status == 429]
                assert len(failed) == 1 and helped.at - failed[0].at >= 1.0
                assert "/style" in helped.text

                status_count = len([c for c in api.calls if is_status(c)])
                api.user_photo(private(ALICE), ALICE, picture(), caption="/style mosaic")
                await api.wait_for("sendPhoto", is_status, count=status_count + 1)
                api.fail_next("sendPhoto", 2, retry_after=1)
                await api.wait_for("sendPhoto", is_result, within_s=20)
                assert len([c for c in api.calls if c.method == "sendPhoto" and c.status == 429]) == 2
                await asyncio.sleep(0.3)
                assert len([c for c in api.calls if is_result(c)]) == 1


async def test_token_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """With every logger at DEBUG, no record shows the token (httpx and PTB log URLs that contain it)."""
    caplog.set_level(logging.DEBUG)
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        async with running_bot(settings):
            logging.getLogger("bot.test").warning("request to %s", f"{api.api_url}{api.token}/getMe")
            api.user_text(private(ALICE), ALICE, "/help")
            await api.wait_for("sendMessage")
    assert caplog.records
    assert api.token not in caplog.text
    assert "<token>" in caplog.text


async def test_prune_leaves_nothing_of_finished_jobs_and_the_bot_goes_on(tmp_path: Path) -> None:
    """After some jobs, `stylebot prune --older-than 0` empties the data folder and the database of them."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                chat = private(ALICE)
                for n in range(3):
                    api.user_photo(chat, ALICE, picture((n, 9, 9)), caption="/style mosaic")
                    await api.wait_for("sendPhoto", is_result, count=n + 1, within_s=20)
                await asyncio.sleep(0.3)  # the last one is marked delivered
                env = {**os.environ, **settings.to_env()}
                pruned = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "stylebot.cli", "prune", "--older-than", "0", env=env,
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await pruned.communicate()
                assert pruned.returncode == 0 and b"deleted 3 old request(s)" in out, out
                assert await asyncio.to_thread(files_of, settings.files_dir / "users") == []
                async with bot_stores(settings) as opened:
                    assert await opened.jobs.history(ALICE.id) == []
                    assert await opened.jobs.count_today(ALICE.id) == 3  # the daily limit still counts them

                api.user_photo(chat, ALICE, picture((200, 9, 9)), caption="/style the_scream")
                await api.wait_for("sendPhoto", lambda c: is_result(c) and "the scream" in c.caption, within_s=20)
                api.user_text(chat, ALICE, "/history")
                [history] = await api.wait_for("sendMessage", lambda c: "recent pictures" in c.text)
                assert history.text.count("#") == 1, "only what still exists is listed"


def files_of(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
