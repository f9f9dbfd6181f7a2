"""Buttons are decided by the server, not by their callback data: a forged tap (data swapped for numbers read off
someone else's buttons, or another message's data) does nothing but get a short refusal, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.telegram.keyboards import FORGET_PREFIX, PRESET_PREFIX, REDO_PREFIX, SETTINGS_PREFIX
from bot.telegram.services import services
from tests.support.backends import Backend
from tests.support.bot import (
    ALICE,
    BOB,
    GROUP,
    answer_to,
    bot_settings,
    button,
    fake_api,
    is_result,
    private,
    result_job_id,
    running_bot,
    workers,
)
from tests.support.fakebotapi import Call, FakeBotApi, TgUser
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(90)

FORGED = "That button doesn't belong to this message."
SENDS = ("sendPhoto", "sendDocument", "sendAnimation", "sendMediaGroup")
CHANGES = ("editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup", "deleteMessage")


def callback_data(call: Call) -> list[str]:
    return [b["callback_data"] for b in call.buttons() if "callback_data" in b]


def sent_to(api: FakeBotApi, chat_id: int) -> list[Call]:
    return [c for method in SENDS for c in api.calls_to(method, ok_only=False) if c.chat_id == chat_id]


def changes(api: FakeBotApi) -> list[Call]:
    return [c for method in CHANGES for c in api.calls_to(method, ok_only=False)]


async def refused(api: FakeBotApi, user: TgUser, message: dict[str, Any], data: str) -> str:
    answer = await answer_to(api, api.tap(user, message, data))
    assert str(answer.params.get("show_alert")).lower() == "true", (data, answer.params)
    text: str = answer.params["text"]
    return text


async def test_forged_and_foreign_taps_do_nothing(tmp_path: Path, backend: Backend) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, database_url=backend.database_url, storage_url=backend.storage_url)
        with workers(settings, seconds=0.1):
            async with running_bot(settings) as app:
                jobs = services(app).jobs
                api.user_photo(private(ALICE), ALICE, picture((200, 0, 0)), caption="/style mosaic")
                [alices] = await api.wait_for("sendPhoto", lambda c: is_result(c) and c.chat_id == ALICE.id)
                api.user_photo(GROUP, ALICE, picture((0, 200, 0)), caption="/style mosaic")
                [groups] = await api.wait_for("sendPhoto", lambda c: is_result(c) and c.chat_id == GROUP.id)
                api.user_photo(GROUP, BOB, picture((0, 0, 200)), caption="/style mosaic")
                [_, bobs_in_group] = await api.wait_for(
                    "sendPhoto", lambda c: is_result(c) and c.chat_id == GROUP.id, count=2
                )
                api.user_photo(private(BOB), BOB, picture((9, 9, 9)), caption="/style mosaic")
                [bobs] = await api.wait_for("sendPhoto", lambda c: is_result(c) and c.chat_id == BOB.id)
                alice_job, group_job = result_job_id(alices), result_job_id(groups)
                counts = len(await jobs.history(ALICE.id)), len(await jobs.history(BOB.id))
                sent_before, changed_before = len(sent_to(api, BOB.id)), len(changes(api))

                # Bob, in his own chat, taps on his own result every button of Alice's result, every button of the
                # group's result (with its numbers) and the other keyboards' data with Alice's numbers.
                forged = [
                    *callback_data(alices),
                    *callback_data(groups),
                    f"r:gif:{alice_job}",
                    f"r:dm:{alice_job}",
                    f"r:del:{group_job}",
                    f"{REDO_PREFIX}{alice_job}",
                    f"{REDO_PREFIX}{group_job}",
                    f"{SETTINGS_PREFIX}{ALICE.id}:strength:2.0",
                    f"{PRESET_PREFIX}{ALICE.id}:mosaic",
                    f"{FORGET_PREFIX}{ALICE.id}:yes",
                    "cancel",
                ]
                mine = api.message(bobs)
                for data in forged:
                    assert await refused(api, BOB, mine, data) == FORGED, data
                assert sent_to(api, BOB.id)[sent_before:] == [], "no picture of anyone else reached Bob"
                assert changes(api)[changed_before:] == [], "nothing was edited or deleted"

                # In the group, Bob's taps on Alice's result: his own Delete data deletes nothing, her buttons
                # paint nothing for him from her photo.
                hers = api.message(groups)
                own_delete = button(bobs_in_group, "Delete")["callback_data"]
                assert await refused(api, BOB, hers, own_delete) == FORGED
                for label in ("Stronger", "Another version", "Other style", "Full-size", "Delete"):
                    assert FORGED != await refused(api, BOB, hers, button(groups, label)["callback_data"])
                assert (GROUP.id, hers["message_id"]) in api.messages
                assert changes(api)[changed_before:] == []
                assert (len(await jobs.history(ALICE.id)), len(await jobs.history(BOB.id))) == counts
                assert [c for c in sent_to(api, GROUP.id) if c.method != "sendPhoto"] == []
                assert await jobs.active() == []
