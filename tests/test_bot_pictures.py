"""Bad pictures, as the bot sees them: the shared decoder's verdicts in the user's words, downloads bounded without a
file_size, an unusable picture reported clearly, an unknown style offering the styles there are, and a parser that
no caption or command can break."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from telegram import File

import bot.core.limits
from bot.core.captions import final_status_text
from bot.core.i18n import translator
from bot.core.images import BadImage, validate_image
from bot.core.parsing import PRESET_NAME_MAX, parse_command, preset_key, validate_preset_name
from bot.telegram.images import read_file
from engine.errors import EngineError
from jobs.bot_stores import BotStores
from jobs.models import ErrorCode, JobState
from settings import Settings
from tests.support.backends import SQLITE, Backend
from tests.support.bot import (
    ALICE,
    bot_settings,
    button,
    fake_api,
    is_result,
    job_status,
    private,
    running_bot,
    workers,
)
from tests.support.fake_engine import FakeEngine
from tests.support.jobs import WorkerThread, new_job, wait_state
from tests.support.odd_pictures import cmyk_jpeg, cmyk_profile, encoded, png16
from tests.support.pictures import picture

UNUSABLE = "I can't paint with one of these pictures"


@pytest.fixture
def backend() -> Backend:
    return Backend(SQLITE)  # the job system's two backends are covered by its own tests


def refusal(data: bytes) -> str:
    with pytest.raises(BadImage) as info:
        validate_image(data)
    return str(info.value)


def test_the_bot_checks_pictures_with_the_engines_decoder_and_limit() -> None:
    # 50.4 MP: refused by the bot's old 50 MP limit while the engine took it; both now stop at 64 MP.
    assert validate_image(encoded(Image.new("1", (7_100, 7_100), 1), "PNG")) == (7_100, 7_100)
    over = refusal(encoded(Image.new("1", (8_001, 8_000)), "PNG"))
    assert over == "That picture is 8001×8000; please send one under 64 megapixels."


@pytest.mark.parametrize("fmt", ["EPS", "PCX", "TGA", "ICO", "PPM", "SGI", "QOI"])
def test_formats_other_than_a_photos_or_a_paintings_are_refused(fmt: str) -> None:
    text = refusal(encoded(Image.new("RGB", (40, 40), (10, 200, 30)), fmt))
    assert "JPEG, PNG, WebP, BMP, TIFF or GIF" in text and "seems damaged" in text


def test_odd_but_real_pictures_are_accepted() -> None:
    for data in (png16(np.full((20, 30), 1000)), cmyk_jpeg(icc=cmyk_profile(), size=(30, 20))):
        assert validate_image(data) == (30, 20)
    assert validate_image(picture(size=(40, 30), fmt="GIF")) == (40, 30)


async def test_a_file_of_unknown_size_is_read_up_to_the_limit_only(tmp_path: Path) -> None:
    """A local Bot API server (--local) hands out paths on its disk; those are bounded too."""
    path = tmp_path / "upload.bin"
    path.write_bytes(b"\0" * 5000)
    local = File("id", "unique", file_path=str(path))
    with pytest.raises(BadImage, match="larger than 20 MB"):
        await read_file(local, 4096)
    assert await read_file(local, 5000) == b"\0" * 5000


async def test_a_download_without_file_size_stops_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """getFile and the message say nothing of the size; the body streams on (64 MB); reading stops at the limit."""
    monkeypatch.setattr(bot.core.limits, "MAX_DOWNLOAD_BYTES", 256 * 1024)
    body = 64 * 1024 * 1024
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        async with running_bot(settings):
            chat = private(ALICE)
            api.user_document(
                chat, ALICE, b"\0" * 65536, mime_type="image/png", file_name="huge.png", hide_size=True, body_size=body
            )
            await api.wait_for("sendMessage", lambda c: "larger than 20 MB" in c.text)
            [stored] = [f for f in api.files.values() if f.body_size == body]
            assert "file_size" not in api.calls_to("getFile")[0].result
            assert stored.served < body // 4, f"the bot read on: {stored.served} bytes served"
            api.user_document(
                chat,
                ALICE,
                picture(size=(40, 30), fmt="PNG"),
                mime_type="image/png",
                file_name="fine.png",
                hide_size=True,
            )
            await api.wait_for("sendMessage", lambda c: "Got your photo" in c.text)  # a small one without a size


def unusable_engine() -> FakeEngine:
    """STYLEBOT_ENGINE_FACTORY for a worker process whose engine finds every picture unusable."""
    return FakeEngine(error=EngineError("This picture can't be used: the loss became NaN.", code="unusable_picture"))


async def test_an_unusable_picture_is_recorded_by_its_own_code(stores: BotStores, settings: Settings) -> None:
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1))).job_id
    worker = WorkerThread(settings, unusable_engine())
    try:
        status = await wait_state(stores.jobs, job_id, JobState.FAILED)
    finally:
        worker.stop()
    assert status.error_code == ErrorCode.UNUSABLE_PICTURE.value == "unusable_picture"
    assert final_status_text(status).startswith(f"❌ {UNUSABLE}")


def test_the_unusable_picture_text_is_translated() -> None:
    failed = job_status(state=JobState.FAILED, error_code="unusable_picture")
    english = final_status_text(failed)
    assert UNUSABLE in english and "Something went wrong" not in english
    for language in ("es", "ru", "zh-hans"):
        translated = final_status_text(
            job_status(state=JobState.FAILED, error_code="unusable_picture", language=language)
        )
        assert translated.startswith("❌") and translated != english
        assert translated != "❌ " + translator(language).gettext(
            "Something went wrong on my side. Please try again (/history → Redo)."
        )


async def test_an_unusable_picture_reaches_the_user_clearly(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, engine_factory="tests.test_bot_pictures:unusable_engine"):
            async with running_bot(settings):
                api.user_photo(private(ALICE), ALICE, picture(), caption="/style mosaic")
                [failed] = await api.wait_for("editMessageCaption", lambda c: UNUSABLE in c.caption, within_s=20)
                assert failed.caption.startswith("❌") and "far too long and thin" in failed.caption


async def test_an_unknown_style_offers_the_styles_there_are_as_buttons(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        assert settings.presets_dir is not None
        for n in range(1, 10):  # 12 styles in all: extra_1 … extra_9, mosaic, starry_night, the_scream
            (settings.presets_dir / f"extra_{n}.png").write_bytes(picture((n * 20, 90, 90), fmt="PNG"))
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                chat = private(ALICE)
                api.user_text(chat, ALICE, "/style zzqqxx")
                [plain] = await api.wait_for("sendMessage", lambda c: "zzqqxx" in c.text)
                assert plain.buttons() == [], "no photo waits: no buttons to paint it"

                api.user_photo(chat, ALICE, picture((0, 90, 90)), caption="/style qqzzyy")
                [offer] = await api.wait_for("sendMessage", lambda c: "qqzzyy" in c.text)
                assert "Pick one of these" in offer.text
                labels = [b["text"] for b in offer.buttons()]
                assert len(labels) == 10 and "mosaic" in labels and "the scream" not in labels
                api.tap(ALICE, api.message(offer), button(offer, "mosaic")["callback_data"])
                await api.wait_for("sendPhoto", lambda c: is_result(c) and "mosaic" in c.caption, within_s=20)


COMMANDS = st.builds(
    lambda name, at, rest: f"/{name}{at}{rest}",
    st.text(max_size=12),
    st.sampled_from(["", "@StyleBot", "@stylebot", "@Other", "@"]),
    st.text(max_size=40),
)


@settings(max_examples=300)
@given(text=st.one_of(st.none(), st.text(max_size=80), COMMANDS), bot_name=st.one_of(st.none(), st.text(max_size=12)))
def test_no_caption_or_command_breaks_the_parser(text: str | None, bot_name: str | None) -> None:
    command = parse_command(text, bot_name)
    if command is not None:
        assert text is not None and text.startswith("/")
        assert re.fullmatch(r"[a-z0-9_]+", command.name)
        assert all(arg and not any(ch.isspace() for ch in arg) for arg in command.args)
    if text is None:
        return
    key = preset_key(text)
    assert not any(ch.isspace() for ch in key) and preset_key(key) == key
    name = validate_preset_name(text)
    if name is not None:
        assert len(name) <= PRESET_NAME_MAX and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name)
        assert validate_preset_name(name) == name
