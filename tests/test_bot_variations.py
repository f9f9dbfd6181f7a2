"""More ways to vary a result (strokes, another version, other style, time-lapse; in groups Send to me privately
and Delete), the stroke size in /settings, and /me: the real PTB client against the fake Bot API, the SQLite store
and fake-engine workers, plus the pure parts on their own."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.core.captions import params_line, result_caption
from bot.core.i18n import translator
from bot.core.params import STROKES, job_params, varied
from bot.telegram.handlers.me import format_size, stored_bytes
from bot.telegram.keyboards import RESULT_PREFIX, TIMELAPSE, offers_timelapse, result_keyboard
from bot.telegram.services import services
from jobs import keys
from jobs.models import JobParams, JobState, Preferences
from jobs.storage import LocalStorage
from settings import Settings
from tests.support.bot import (
    ADMIN,
    ALICE,
    BOB,
    GROUP,
    answer_to,
    bot_settings,
    button,
    fake_api,
    is_result,
    is_status,
    job_status,
    private,
    result_job_id,
    running_bot,
    workers,
)
from tests.support.fakebotapi import Call, TgUser
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)

CAROL = TgUser(1003, "Carol", "carol")  # an admin of GROUP


def is_alert(answer: Call) -> bool:
    return str(answer.params.get("show_alert")).lower() == "true"


def labels(call: Call) -> list[list[str]]:
    return [[b["text"] for b in row] for row in call.params["reply_markup"]["inline_keyboard"]]


async def test_strokes_in_settings_and_the_variation_buttons(tmp_path: Path) -> None:
    """/settings picks the stroke size, the caption names it; Bigger / Smaller strokes step it (not past the
    ends); Another version paints the same again with a new seed."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings) as app:
                chat = private(ALICE)
                api.user_text(chat, ALICE, "/settings")
                [panel] = await api.wait_for("sendMessage")
                assert "Strokes: normal" in panel.text and ["🖌 fine", "• 🖌 normal •", "🖌 broad"] in labels(panel)
                api.tap(ALICE, api.message(panel), button(panel, "broad")["callback_data"])
                [edited] = await api.wait_for("editMessageText", lambda c: "Strokes: broad" in c.text)
                assert ["🖌 fine", "🖌 normal", "• 🖌 broad •"] in labels(edited)

                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                [first] = await api.wait_for("sendPhoto", is_result, within_s=20)
                assert "strength 1× · strokes 2× · " in first.caption
                rows = labels(first)
                assert all(len(row) <= 2 for row in rows), "two buttons a row at most: they read on a phone"
                shown = " ".join(label for row in rows for label in row)
                assert "Delete" not in shown and "privately" not in shown, "those are for groups"
                assert "Time-lapse" not in shown
                jobs, storage = services(app).jobs, services(app).storage
                original = await jobs.status(result_job_id(first))
                assert original is not None and not await offers_timelapse(storage, original), "0.1 s: no frames"
                message = api.message(first)

                api.tap(ALICE, message, button(first, "Bigger strokes")["callback_data"])
                [_, bigger] = await api.wait_for("sendPhoto", is_result, count=2, within_s=20)
                assert "strokes 3×" in bigger.caption
                assert bigger.params["reply_parameters"]["message_id"] == message["message_id"]
                at_most = api.tap(ALICE, api.message(bigger), button(bigger, "Bigger strokes")["callback_data"])
                refused = await answer_to(api, at_most)
                assert "already the biggest strokes" in refused.params["text"] and is_alert(refused)

                api.tap(ALICE, message, button(first, "Smaller strokes")["callback_data"])
                [*_, smaller] = await api.wait_for("sendPhoto", is_result, count=3, within_s=20)
                assert "strokes 1.5×" in smaller.caption

                api.tap(ALICE, message, button(first, "Another version")["callback_data"])
                [*_, again] = await api.wait_for("sendPhoto", is_result, count=4, within_s=20)
                assert again.caption.splitlines()[1] == first.caption.splitlines()[1]
                other = await jobs.status(result_job_id(again))
                assert other is not None and other.params.seed != original.params.seed
                assert replace(other.params, seed=0) == replace(original.params, seed=0)
                assert (other.content_key, other.style_keys) == (original.content_key, original.style_keys)
                assert len([c for c in api.calls if is_result(c)]) == 4, "the tap at the end of the ladder made no job"


async def test_other_style_offers_the_styles_for_the_same_photo(tmp_path: Path) -> None:
    """Other style: the result's photo waits for a style again, with the preset buttons; a tap paints it."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings) as app:
                chat = private(ALICE)
                api.user_photo(chat, ALICE, picture((10, 200, 10)), caption="/style mosaic")
                [first] = await api.wait_for("sendPhoto", is_result, within_s=20)
                message = api.message(first)
                api.tap(ALICE, message, button(first, "Other style")["callback_data"])
                [prompt] = await api.wait_for("sendMessage", lambda c: "another style" in c.text)
                assert prompt.params["reply_parameters"]["message_id"] == message["message_id"]
                api.tap(ALICE, api.message(prompt), button(prompt, "starry night")["callback_data"])
                [_, second] = await api.wait_for("sendPhoto", is_result, count=2, within_s=20)
                assert "starry night" in second.caption
                assert second.params["reply_parameters"]["message_id"] == message["message_id"]
                jobs = services(app).jobs
                before, after = await jobs.status(result_job_id(first)), await jobs.status(result_job_id(second))
                assert before is not None and after is not None and after.content_key == before.content_key


async def test_group_results_sent_privately_and_deleted(tmp_path: Path) -> None:
    """In a group anyone may get a result privately (told how to open the bot when it can't write to them yet);
    only the requester, the group's admins and the bot's admins may delete it."""
    async with fake_api() as api:
        api.chat_admins[GROUP.id] = {CAROL.id}
        api.not_started.add(BOB.id)
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings) as app:
                for color in ((200, 0, 0), (0, 200, 0), (0, 0, 200)):
                    api.user_photo(GROUP, ALICE, picture(color), caption="/style mosaic")
                results = await api.wait_for("sendPhoto", is_result, count=3, within_s=20)
                first = results[0]
                assert ["📩 Send to me privately", "✖ Delete"] in labels(first)
                message = api.message(first)

                refused = await answer_to(api, api.tap(BOB, message, button(first, "Delete")["callback_data"]))
                assert refused.params["text"] == "Only Alice or an admin of this group can delete it."
                assert is_alert(refused) and (GROUP.id, message["message_id"]) in api.messages
                not_his = await answer_to(api, api.tap(BOB, message, button(first, "Other style")["callback_data"]))
                assert "Only Alice can do that" in not_his.params["text"]

                privately = button(first, "privately")["callback_data"]
                blocked = await answer_to(api, api.tap(BOB, message, privately))
                assert "@StyleTestBot" in blocked.params["text"] and "Start" in blocked.params["text"]
                assert is_alert(blocked) and len(blocked.params["text"]) <= 200
                assert [c.status for c in api.calls_to("sendPhoto", ok_only=False) if c.chat_id == BOB.id] == [403]
                api.user_text(private(BOB), BOB, "/start")
                await api.wait_for("sendMessage", lambda c: c.chat_id == BOB.id)
                sent = await answer_to(api, api.tap(BOB, message, privately))
                assert sent.params["text"] == "Sent to our private chat."
                [copy] = await api.wait_for("sendPhoto", lambda c: c.chat_id == BOB.id)
                job = await services(app).jobs.status(result_job_id(first))
                assert job is not None and job.result_key is not None
                assert copy.files["photo"] == (settings.files_dir / job.result_key).read_bytes(), "the full picture"
                assert "mosaic" in copy.caption and "Alice" in copy.caption

                for user, result in zip((CAROL, ADMIN, ALICE), results, strict=True):
                    shown = api.message(result)
                    done = await answer_to(api, api.tap(user, shown, button(result, "Delete")["callback_data"]))
                    assert done.params["text"] == "Deleted.", user
                    assert (GROUP.id, shown["message_id"]) not in api.messages
                gone = await answer_to(api, api.tap(ALICE, message, button(first, "Delete")["callback_data"]))
                assert "48 hours" in gone.params["text"] and is_alert(gone)


async def test_timelapse_is_sent_as_an_animation_under_the_result(tmp_path: Path) -> None:
    """A job that ran long enough has a time-lapse: the button sends the GIF as a reply to the result; once the
    file is gone (retention) the tap says so."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=2.0):  # the worker takes a frame every 0.5 s at most
            async with running_bot(settings) as app:
                chat = private(ALICE)
                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                [result] = await api.wait_for("sendPhoto", is_result, within_s=20)
                message = api.message(result)
                svc = services(app)
                job = await svc.jobs.status(result_job_id(result))
                assert job is not None and await offers_timelapse(svc.storage, job)
                data = button(result, "Time-lapse")["callback_data"]

                not_his = await answer_to(api, api.tap(BOB, message, data))
                assert "Only Alice can do that" in not_his.params["text"]
                sending = await answer_to(api, api.tap(ALICE, message, data))
                assert sending.params["text"] == "Sending the time-lapse…"
                [gif] = await api.wait_for("sendAnimation")
                assert gif.files["animation"][:6] == b"GIF89a" and gif.chat_id == chat.id
                assert gif.params["reply_parameters"]["message_id"] == message["message_id"]
                assert api.message(gif)["animation"]["mime_type"] == "image/gif"

                (settings.files_dir / keys.timelapse_key(ALICE.id, job.id)).unlink()
                gone = await answer_to(api, api.tap(ALICE, message, data))
                assert "no time-lapse" in gone.params["text"] and is_alert(gone)
                assert len(api.calls_to("sendAnimation")) == 1


async def test_me_shows_your_queue_today_and_storage(tmp_path: Path) -> None:
    """/me: running and queued jobs with positions, today's count against the limit (admins: none), storage."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, default_iterations=200, max_jobs_per_day=20)
        with workers(settings, seconds=30):
            async with running_bot(settings):
                menus = api.calls_to("setMyCommands")
                assert menus and all("me" in [c["command"] for c in call.params["commands"]] for call in menus)
                chat = private(ALICE)
                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                await api.wait_for("sendPhoto", is_status)
                api.user_photo(chat, ALICE, picture((1, 2, 3)), caption="/style starry_night")
                await api.wait_for("sendPhoto", is_status, count=2)
                await api.wait_for("editMessageCaption", lambda c: "Painting" in c.caption)

                api.user_text(chat, ALICE, "/me")
                [me] = await api.wait_for("sendMessage", lambda c: "Your pictures" in c.text and c.chat_id == ALICE.id)
                title, *jobs, today, stored = me.text.splitlines()
                assert title == "<b>Your pictures</b>" and len(jobs) == 2
                assert any(re.fullmatch(r"🖌 #\d+ mosaic · painting, \d+%", line) for line in jobs), jobs
                assert any(re.fullmatch(r"⏳ #\d+ starry night · position 1 in the queue", line) for line in jobs)
                assert today == "Today: 2 of your 20 pictures a day"
                size = re.fullmatch(r"Stored: (\d+) KB", stored)
                assert size is not None and int(size[1]) > 0

                api.user_text(private(BOB), BOB, "/me")
                [bob] = await api.wait_for("sendMessage", lambda c: c.chat_id == BOB.id)
                assert bob.text.splitlines()[1:] == [
                    "Nothing in the queue.",
                    "Today: 0 of your 20 pictures a day",
                    "Stored: 0 KB",
                ]
                api.user_text(private(ADMIN), ADMIN, "/me")
                [ada] = await api.wait_for("sendMessage", lambda c: c.chat_id == ADMIN.id)
                assert "Today: 0 pictures (no daily limit for admins)" in ada.text


def test_stroke_ladder_seed_and_captions() -> None:
    params = job_params(Preferences(style_scale=2.0), Settings(max_size=640, default_iterations=120))
    assert params.style_scale == 2.0
    assert job_params(Preferences(style_scale=50.0), Settings()).style_scale == STROKES[-1], "clamped"
    assert varied(params, "big").style_scale == 3.0 and varied(params, "small").style_scale == 1.5
    top, bottom = replace(params, style_scale=STROKES[-1]), replace(params, style_scale=STROKES[0])
    assert varied(top, "big") == top and varied(bottom, "small") == bottom
    assert varied(replace(params, style_scale=1.0), "small").style_scale == 0.7
    again = varied(params, "again")
    assert again.seed != params.seed and replace(again, seed=params.seed) == params
    assert 0 < again.seed < 2**31

    default = JobParams(max_side=512, iterations=200)
    assert "strokes" not in params_line(default)
    assert params_line(replace(default, style_scale=0.5)).startswith("strength 1× · strokes 0.5× · 512 px")
    done = job_status(state=JobState.DONE, params=replace(default, style_scale=1.5), result_width=8, result_height=6)
    assert "strokes 1.5×" in result_caption(done)


def test_result_keyboard_fits_telegram() -> None:
    """callback_data within 64 bytes even for huge ids; two buttons a row; group-only and time-lapse buttons."""
    job = job_status(id=2**62, chat_id=-(10**13), user_id=10**12, state=JobState.DONE, chat_type="supergroup")

    def data(markup: Any) -> list[str]:
        return [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]

    group, with_gif = result_keyboard(job, has_timelapse=False), result_keyboard(job, has_timelapse=True)
    assert all(len(d.encode()) <= 64 for d in data(with_gif))
    assert all(len(row) <= 2 for row in with_gif.inline_keyboard)
    assert set(data(with_gif)) - set(data(group)) == {f"{RESULT_PREFIX}{TIMELAPSE}:{job.id}"}
    assert {f"r:del:{job.id}", f"r:dm:{job.id}"} <= set(data(group))
    private_chat = data(result_keyboard(replace(job, chat_type="private"), has_timelapse=False))
    assert f"r:del:{job.id}" not in private_chat and f"r:dm:{job.id}" not in private_chat


async def test_offers_timelapse_and_storage_use(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    job = job_status(id=5, user_id=42, state=JobState.DONE)
    assert not await offers_timelapse(storage, job)
    storage.put(keys.timelapse_key(42, 5), b"GIF89a" + b"\0" * 994)
    storage.put(keys.result_key(42, 5), b"\0" * 2000)
    storage.put(keys.result_key(43, 1), b"\0" * 5000)  # someone else's
    assert await offers_timelapse(storage, job)
    assert stored_bytes(storage, keys.user_prefix(42)) == 3000
    assert stored_bytes(storage, keys.user_prefix(44)) == 0

    english, russian = translator("en"), translator("ru")
    assert [format_size(n, english) for n in (0, 1, 3000, 1536 * 1024)] == ["0 KB", "1 KB", "3 KB", "1.5 MB"]
    assert "1,5" in format_size(1536 * 1024, russian)
