"""The built-in presets: a fresh bot, with no settings but its token, paints `/style starry` and credits it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.presets import BUILTIN_PRESETS, picture
from imaging import decode
from settings import Settings
from tests.support.bot import ALICE, fake_api, is_result, private, running_bot, workers
from tests.support.fakebotapi import FakeBotApi
from tests.support.pictures import picture as photo

pytestmark = pytest.mark.timeout(90)


def fresh_settings(tmp_path: Path, api: FakeBotApi, **overrides: object) -> Settings:
    """Nothing set but the token (and where the fake Bot API and the data folder are)."""
    return Settings(token=api.token, api_url=api.api_url, file_url=api.file_url, data_dir=tmp_path / "data",
                    **overrides)  # type: ignore[arg-type]


def test_the_four_paintings_ship_at_most_1024_px() -> None:
    assert [p.name for p in BUILTIN_PRESETS] == ["starry", "scream", "shipwreck", "hat"]
    for preset in BUILTIN_PRESETS:
        painting = decode(picture(preset))
        assert max(painting.image.size) <= 1024 and min(painting.image.size) >= 500, preset.name


async def test_a_fresh_bot_paints_style_starry_and_credits_the_paintings(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = fresh_settings(tmp_path, api)
        with workers(settings, seconds=0.1):
            async with running_bot(settings):
                chat = private(ALICE)
                api.user_photo(chat, ALICE, photo((10, 200, 10)), caption="/style starry")
                [result] = await api.wait_for("sendPhoto", is_result, within_s=60)
                assert "starry" in result.caption
                api.user_text(chat, ALICE, "/presets")
                [album] = await api.wait_for("sendMediaGroup")
                captions = [item["caption"] for item in album.params["media"]]
                assert "starry — Vincent van Gogh, The Starry Night (1889)" in captions
                assert "hat — Henri Matisse, Woman with a Hat (1905)" in captions


async def test_builtin_presets_can_be_turned_off(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = fresh_settings(tmp_path, api, builtin_presets=False)
        async with running_bot(settings):
            chat = private(ALICE)
            api.user_photo(chat, ALICE, photo((10, 200, 10)), caption="/style starry")
            [reply] = await api.wait_for("sendMessage", lambda c: "starry" in c.text)
            assert "don't know" in reply.text.lower() or "unknown" in reply.text.lower(), reply.text
