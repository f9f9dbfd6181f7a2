"""The delivery loop on its own: exactly once even when the bot dies between sending and marking."""

from __future__ import annotations

from pathlib import Path

from telegram import Bot

from bot.delivery import Delivery
from bot.services import Services, Tuning
from bot.state import BotState
from jobs.models import JobState, JobStatus
from stylebot.config import Settings
from tests.bot_support import fake_api, job_status, picture


class OneJobQueue:
    """Just enough of BotQueue for the delivery loop; mark_delivered can be made to crash once."""

    def __init__(self, job: JobStatus, crash_on_mark: bool) -> None:
        self.job = job
        self.crash_on_mark = crash_on_mark
        self.delivered = False

    async def undelivered(self) -> list[JobStatus]:
        return [] if self.delivered else [self.job]

    async def active(self) -> list[JobStatus]:
        return []

    async def mark_delivered(self, job_id: int) -> bool:
        if self.crash_on_mark:
            self.crash_on_mark = False
            raise RuntimeError("the bot died right after sending")
        first, self.delivered = not self.delivered, True
        return first


def done_job(tmp_path: Path, chat_id: int) -> JobStatus:
    result = tmp_path / "result.png"
    result.write_bytes(picture(fmt="PNG"))
    return job_status(
        id=3, chat_id=chat_id, user_id=chat_id, message_id=50, state=JobState.DONE, user_name="Al",
        result_path=result, result_width=64, result_height=48, seconds=1.0,
    )


async def test_crash_between_send_and_mark_does_not_send_twice(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = Settings(token=api.token, data_dir=tmp_path)
        queue = OneJobQueue(done_job(tmp_path, 1001), crash_on_mark=True)
        for _ in range(2):  # two bot lifetimes sharing the data dir
            state = await BotState.open(tmp_path / "stylebot.sqlite3")
            svc = Services(settings=settings, tuning=Tuning(), queue=queue, state=state)  # type: ignore[arg-type]
            async with Bot(api.token, base_url=api.api_url, base_file_url=api.file_url) as bot:
                delivery = Delivery(bot, svc)
                try:
                    await delivery.tick()
                except RuntimeError:
                    pass
            await state.close()
        assert queue.delivered
        assert len(api.calls_to("sendPhoto")) == 1


async def test_unreachable_chat_is_marked_and_does_not_block(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = Settings(token=api.token, data_dir=tmp_path)
        job = done_job(tmp_path, 1001)
        queue = OneJobQueue(
            JobStatus(
                **{**job.__dict__, "state": JobState.FAILED, "error_code": "internal", "status_message_id": 12345}
            ),
            crash_on_mark=False,
        )
        state = await BotState.open(tmp_path / "stylebot.sqlite3")
        svc = Services(settings=settings, tuning=Tuning(), queue=queue, state=state)  # type: ignore[arg-type]
        async with Bot(api.token, base_url=api.api_url, base_file_url=api.file_url) as bot:
            await Delivery(bot, svc).tick()
        await state.close()
        assert queue.delivered
        # The status message was gone, so the failure was posted as a new message instead.
        [sent] = api.calls_to("sendMessage")
        assert sent.text.startswith("❌")


async def test_status_says_when_no_painter_is_running(tmp_path: Path) -> None:
    from stylebot.health import Heartbeat, worker_name

    svc = Services(settings=Settings(data_dir=tmp_path), tuning=Tuning())
    delivery = Delivery(None, svc)  # type: ignore[arg-type]
    assert await delivery._painters_online()  # just started: workers may still be loading the engine
    delivery._started_at -= 3600
    assert not await delivery._painters_online()  # an hour up and no worker has ever beaten
    Heartbeat(tmp_path, worker_name("w1")).beat()
    assert await delivery._painters_online()
