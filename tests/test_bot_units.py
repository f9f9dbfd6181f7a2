"""Unit tests for the bot's pure parts: parsing, progress text, captions, albums, limits, params, logging."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest
from PIL import Image

from bot.core.albums import AlbumCollector, AlbumPair, pair_album
from bot.core.captions import history_line, queued_text, result_caption, status_text
from bot.core.images import BadImage, validate_image
from bot.core.limits import MAX_DOWNLOAD_BYTES, ImageRef, image_refusal, is_allowed
from bot.core.logs import RedactToken
from bot.core.params import job_params, step_strength, varied
from bot.core.parsing import parse_command, preset_key, validate_preset_name
from bot.core.progress import eta_text, format_duration, percent, progress_bar
from bot.telegram.app import NO_TOKEN, run_bot
from jobs.models import JobParams, JobState, JobStatus, Preferences
from settings import Settings
from tests.support.bot import job_status


def job(**changes: object) -> JobStatus:
    group_job: dict[str, object] = {
        "chat_id": -5,
        "user_id": 42,
        "params": JobParams(max_side=512, iterations=300, strength=2.0),
        "style_name": "starry_night",
        "user_name": "Ann <b>",
        "chat_type": "supergroup",
    }
    return job_status(**{**group_job, **changes})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/style starry night", ("style", ("starry", "night"))),
        ("/style@StyleBot mosaic", ("style", ("mosaic",))),
        ("/STYLE@stylebot", ("style", ())),
        ("/style@OtherBot mosaic", None),
        ("style mosaic", None),
        ("/", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_command(text: str | None, expected: tuple[str, tuple[str, ...]] | None) -> None:
    cmd = parse_command(text, "StyleBot")
    assert (None if cmd is None else (cmd.name, cmd.args)) == expected


def test_preset_names() -> None:
    assert preset_key(("Starry", "Night")) == "starry_night"
    assert validate_preset_name("My Watercolour") == "my_watercolour"
    assert validate_preset_name("bad/name") is None
    assert validate_preset_name("x" * 33) is None
    assert validate_preset_name("") is None


def test_progress_bar_percent_and_durations() -> None:
    assert progress_bar(0.0, 10) == "▱" * 10
    assert progress_bar(0.5, 10) == "▰" * 5 + "▱" * 5
    assert progress_bar(1.7, 4) == "▰" * 4
    assert progress_bar(float("nan"), 4) == "▱" * 4
    assert percent(0.996) == "99%" and percent(1.0) == "100%"
    assert format_duration(8.4) == "8 s"
    assert format_duration(125) == "2 min 5 s"
    assert format_duration(3600 + 240) == "1 h 4 min"
    assert eta_text(None) == "estimating…"
    assert eta_text(3) == "almost done"
    assert eta_text(22) == "about 20 s left"
    assert eta_text(150) == "about 2 min 30 s left"


def test_status_and_result_captions() -> None:
    running = job(progress=0.25, iteration=75, total_iterations=300, eta_s=90)
    text = status_text(running)
    assert "starry night" in text and "25%" in text and "about 1 min 30 s left" in text and "75/300" in text
    queued = job(state=JobState.QUEUED, position=3)
    assert status_text(queued) == queued_text(3, "starry_night")
    assert "position 3" in status_text(queued)
    assert "No painter is running" in status_text(queued, painters_online=False)
    assert "No painter" not in status_text(running, painters_online=False)  # someone is clearly painting it
    assert "next in line" in queued_text(1, "x") and "starting now" in queued_text(0, "x")
    assert status_text(job(state=JobState.FAILED, error_code="out_of_memory")).startswith("❌")
    assert status_text(job(state=JobState.CANCELLED)) == "⏹ Cancelled."
    delayed = job(state=JobState.QUEUED, error_code="storage_full", not_before=1_000_300.0)
    assert "storage is full" in status_text(delayed, now=1_000_000.0) and "about 5 min" in status_text(delayed, now=1e6)
    unreachable = job(state=JobState.QUEUED, error_code="storage_unavailable", not_before=1_000_030.0)
    assert "can't reach my picture storage" in status_text(unreachable, now=1e6) and "soon" in status_text(
        unreachable, now=1e6
    )
    done = job(state=JobState.DONE, result_width=512, result_height=384, total_iterations=300, seconds=42)
    caption = result_caption(done)
    assert "<b>starry night</b>" in caption and "strength 2×" in caption and "512×384" in caption
    assert "300 iterations" in caption and "42 s" in caption
    assert 'href="tg://user?id=42"' in caption and "Ann &lt;b&gt;" in caption
    assert "tg://user" not in result_caption(job(state=JobState.DONE, chat_type="private"))
    assert "done" in history_line(job(state=JobState.DELIVERED, outcome=JobState.DONE, seconds=3))
    assert "cancelled" in history_line(job(state=JobState.DELIVERED, outcome=JobState.CANCELLED))


def test_pair_album() -> None:
    assert pair_album([(12, "style"), (11, "content")]) == AlbumPair("content", ("style",))
    assert pair_album([(1, "a"), (3, "c"), (2, "b")]) == AlbumPair("a", ("b", "c"))
    assert isinstance(pair_album([(1, "a")]), str)
    assert isinstance(pair_album([(i, str(i)) for i in range(7)]), str)


async def test_album_collector_waits_for_the_last_part_and_flushes_on_close() -> None:
    done: list[tuple[object, list[tuple[int, str]]]] = []

    async def complete(key: object, items: list[tuple[int, str]]) -> None:
        done.append((key, sorted(items)))

    collector: AlbumCollector[str] = AlbumCollector(0.1, complete)
    collector.add((1, 2, "g"), 5, "b")
    await asyncio.sleep(0.05)
    collector.add((1, 2, "g"), 4, "a")
    collector.add((1, 3, "h"), 9, "x")
    await asyncio.sleep(0.07)
    assert done == []
    await asyncio.sleep(0.1)
    assert done == [((1, 2, "g"), [(4, "a"), (5, "b")]), ((1, 3, "h"), [(9, "x")])]
    collector.add((1, 2, "k"), 1, "z")
    await collector.close()
    assert done[-1] == ((1, 2, "k"), [(1, "z")]), "an album still waiting at shutdown is not dropped"


def test_image_refusals_before_download() -> None:
    photo = ImageRef("f", "u", 1000, "image/jpeg", "photo", 1)
    assert image_refusal(photo) is None
    assert "20 MB" in (image_refusal(ImageRef("f", "u", MAX_DOWNLOAD_BYTES + 1, None, "photo", 1)) or "")
    assert "application/pdf" in (image_refusal(ImageRef("f", "u", 10, "application/pdf", "document", 1)) or "")
    assert image_refusal(ImageRef("f", "u", 10, "image/png", "document", 1)) is None


def test_validate_image() -> None:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "JPEG")
    data = out.getvalue()
    assert validate_image(data) == (40, 30)
    with pytest.raises(BadImage, match="damaged"):
        validate_image(data[: len(data) // 2])
    with pytest.raises(BadImage, match="damaged"):
        validate_image(b"%PDF-1.4")
    tiny = io.BytesIO()
    Image.new("RGB", (4, 4)).save(tiny, "PNG")
    with pytest.raises(BadImage, match="16 px"):
        validate_image(tiny.getvalue())


def test_allow_list() -> None:
    open_bot = Settings()
    assert is_allowed(open_bot, 5, 5)
    private = Settings(allowed_users=frozenset({5}), allowed_chats=frozenset({-9}), admins=frozenset({1}))
    assert is_allowed(private, 5, 123) and is_allowed(private, 77, -9) and is_allowed(private, 1, 3)
    assert not is_allowed(private, 77, 77)


def test_params_from_settings_and_result_buttons() -> None:
    settings = Settings(max_size=640, default_iterations=120)
    params = job_params(Preferences(strength=2.0, max_side=2048, preserve_colors=True, quality="fast"), settings)
    assert (params.max_side, params.iterations, params.strength, params.quality) == (640, 120, 2.0, "fast")
    assert step_strength(1.0, True) == 2.0 and step_strength(1.0, False) == 0.5
    assert step_strength(8.0, True) == 8.0 and step_strength(0.25, False) == 0.25
    assert varied(params, "colors").preserve_colors is False
    assert varied(params, "up").strength == 4.0 and varied(params, "same") == params
    # A user who never chose a size gets STYLEBOT_DEFAULT_SIZE.
    assert job_params(Preferences(), Settings(default_size=384)).max_side == 384


def test_token_filter_redacts_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    token = "123:secret-token"
    caplog.handler.addFilter(RedactToken(token))
    log = logging.getLogger("test.redact")
    log.warning("GET https://api/bot%s/getMe", token)
    try:
        raise RuntimeError(f"failed https://api/bot{token}/x")
    except RuntimeError:
        log.exception("boom")
    assert token not in caplog.text and caplog.text.count("<token>") >= 2


def test_run_bot_without_token_says_how_to_get_one() -> None:
    with pytest.raises(SystemExit) as exited:
        run_bot(Settings(token=""))
    assert exited.value.code == NO_TOKEN
    assert "BotFather" in NO_TOKEN and "\n" not in NO_TOKEN
