"""Shared builders for the job tests: settings, images, requests, and a worker running in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image

from engine.worker import run_worker
from jobs import files
from jobs.models import JobParams, NewJob
from stylebot.config import Settings


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Short leases and intervals so that recovery happens in test time."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "lease_s": 1.0,
        "heartbeat_s": 0.1,
        "preview_interval_s": 0.2,
        "shutdown_grace_s": 0.2,
        "job_time_limit_s": 30.0,
        "max_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)


def image_bytes(color: tuple[int, int, int] = (200, 80, 40), size: tuple[int, int] = (32, 24)) -> bytes:
    """A small PNG made in code."""
    buffer = BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def new_job(
    settings: Settings,
    user_id: int,
    message_id: int,
    *,
    chat_id: int | None = None,
    iterations: int = 20,
    content: bytes | None = None,
    **params: Any,
) -> NewJob:
    """A request as the bot would hand it over: its photos already saved under files_dir."""
    content_path = files.save_upload(settings.files_dir, user_id, content or image_bytes(), ".png")
    style_path = files.save_upload(settings.files_dir, user_id, image_bytes((20, 40, 220)), ".png")
    return NewJob(
        chat_id=chat_id if chat_id is not None else user_id,
        user_id=user_id,
        message_id=message_id,
        content_path=content_path,
        style_paths=(style_path,),
        params=JobParams(iterations=iterations, **params),
        user_name=f"user{user_id}",
    )


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = 10.0, interval: float = 0.02) -> None:
    """Poll until `check` is true; fail the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


class WorkerThread:
    """`run_worker` in a thread, stopped (and joined) by `stop()`."""

    def __init__(self, settings: Settings, engine: Any, worker_id: str = "test-worker", **kwargs: Any) -> None:
        self.stop_event = threading.Event()
        self.jobs_run: int | None = None
        self.error: BaseException | None = None

        def target() -> None:
            try:
                self.jobs_run = run_worker(
                    settings,
                    worker_id=worker_id,
                    engine_factory=lambda: engine,
                    stop_event=self.stop_event,
                    poll_interval=0.02,
                    **kwargs,
                )
            except BaseException as exc:
                self.error = exc
                raise

        self.thread = threading.Thread(target=target, name=worker_id, daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not stop"
        assert self.error is None, self.error
