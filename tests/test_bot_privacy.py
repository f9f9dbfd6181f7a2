"""/privacy: the built-in text (what is kept, how long, who sees it, /forget), in the menu of every language; an
operator's file sent as it is; a file that can't be sent stops the start with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.telegram.app import build_application, run_bot, startup_error
from settings import Settings
from stylebot import cli
from tests.support.bot import ALICE, GROUP, bot_settings, fake_api, private, running_bot
from tests.support.fakebotapi import TgUser

pytestmark = pytest.mark.timeout(60)

IVAN = TgUser(1004, "Иван", "ivan", language_code="ru")
OWN_TEXT = "Our policy: <b>plain</b> text & no markup.\nFull text: https://example.com/privacy"


async def test_privacy_answers_what_how_long_who_and_how_to_delete(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, retention_days=7.0)
        async with running_bot(settings):
            menus = api.calls_to("setMyCommands")
            assert menus and all(
                "privacy" in [command["command"] for command in call.params["commands"]] for call in menus
            ), "in the menu of every language"
            request = api.user_text(private(ALICE), ALICE, "/privacy")
            [reply] = await api.wait_for("sendMessage")
            text = reply.text
            assert reply.params["parse_mode"] == "HTML"
            assert reply.params["reply_parameters"]["message_id"] == request["message_id"]
            for words in ("photos", "settings", "history", "7 days", "third parties", "/forget", "group"):
                assert words in text, words
            assert "daily limit" in text, "what /forget keeps"

            api.user_text(GROUP, ALICE, "/privacy@StyleTestBot")
            [_, in_group] = await api.wait_for("sendMessage", count=2)
            assert int(in_group.params["chat_id"]) == GROUP.id and in_group.text == text


async def test_the_operators_file_is_sent_as_it_is_in_every_language(tmp_path: Path) -> None:
    policy = tmp_path / "privacy.txt"
    policy.write_text(f"\n{OWN_TEXT}\n\n", encoding="utf-8")
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, privacy_file=policy)
        async with running_bot(settings):
            policy.write_text("changed after the start", encoding="utf-8")  # read once, at start-up
            api.user_text(private(ALICE), ALICE, "/privacy")
            api.user_text(private(IVAN), IVAN, "/privacy")
            replies = await api.wait_for("sendMessage", count=2)
            assert [reply.text for reply in replies] == [OWN_TEXT, OWN_TEXT]
            assert all("parse_mode" not in reply.params for reply in replies), "plain text: nothing is markup"


def test_privacy_file_comes_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({"STYLEBOT_PRIVACY_FILE": str(tmp_path / "p.txt")})
    assert settings.privacy_file == tmp_path / "p.txt"
    assert Settings().privacy_file is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "can't be read: No such file or directory"),
        ("dir", "can't be read: Is a directory"),
        (b"\xff\xfe\xfa not utf-8", "can't be read: not UTF-8 text"),
        (b" \n\n", "is empty"),
        (("x" * 4097).encode(), "has 4097 characters; a Telegram message holds 4096"),
    ],
)
def test_a_privacy_file_that_cannot_be_sent_stops_the_start_with_one_line(
    tmp_path: Path, content: bytes | str | None, reason: str
) -> None:
    path = tmp_path / "privacy.txt"
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    settings = Settings(token="1:x", privacy_file=path, data_dir=tmp_path / "data")
    expected = f"STYLEBOT_PRIVACY_FILE={str(path)!r} {reason}"
    problem = startup_error(settings)
    assert problem is not None and problem.startswith(expected) and "\n" not in problem
    with pytest.raises(SystemExit) as exited:
        run_bot(settings)
    assert exited.value.code == problem
    with pytest.raises(ValueError, match="STYLEBOT_PRIVACY_FILE"):
        build_application(settings)


def test_stylebot_run_says_it_before_starting_any_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import worker.pool

    def no_workers(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker was started")

    monkeypatch.setattr(worker.pool, "WorkerPool", no_workers)
    monkeypatch.setenv("STYLEBOT_TOKEN", "1:x")
    monkeypatch.setenv("STYLEBOT_WORKERS", "1")
    monkeypatch.setenv("STYLEBOT_PRIVACY_FILE", str(tmp_path / "missing.txt"))
    assert cli.main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "STYLEBOT_PRIVACY_FILE=" in err and "missing.txt" in err
