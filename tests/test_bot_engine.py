"""One end-to-end run with the real engine (random weights, 64 px, a few iterations) in a worker process."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.support.bot import ALICE, bot_settings, fake_api, is_result, private, running_bot, workers
from tests.support.pictures import picture

ENGINE_MISSING = any(importlib.util.find_spec(name) is None for name in ("keras", "engine.transfer"))


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.skipif(ENGINE_MISSING, reason="the engine (Keras) can't be imported")
async def test_real_engine_paints_a_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STYLEBOT_ENGINE_FACTORY", raising=False)
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, weights="random", max_size=64, default_iterations=4)
        with workers(settings, engine_factory=None):
            async with running_bot(settings):
                api.user_photo(private(ALICE), ALICE, picture((30, 120, 200), size=(96, 64)), caption="/style mosaic")
                [result] = await api.wait_for("sendPhoto", is_result, within_s=200)
                assert "mosaic" in result.caption and "64 px" in result.caption
                width, height = api.message(result)["photo"][-1]["width"], api.message(result)["photo"][-1]["height"]
                assert max(width, height) == 64
