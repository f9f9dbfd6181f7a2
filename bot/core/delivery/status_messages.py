"""What this process knows of each status message: what it shows (kept across a clean restart), whether an edit of
it is under way, and whether it can be edited at all."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jobs.models import JobStatus

from . import LOGGER

log = logging.getLogger(LOGGER)  # one logger for the delivery loop: its lines keep the name "bot.delivery"

SHOWN_FILE = "status-messages.json"  # what each status message shows, kept across a clean restart


@dataclass
class Shown:
    """What a status message shows, as far as this process knows."""

    text: str
    position: int | None = None  # the queue position the text shows; None: a running job's text, or not known
    online: bool = True  # False: the text carries the "no painter is running" warning
    preview_version: int = 0
    edited_at: float = -math.inf
    preview_at: float = -math.inf
    checked: bool = True  # False: the position the text shows is still to be worked out (posted by a handler)


class StatusMessages:
    """The status messages of the jobs this loop knows (by job id)."""

    def __init__(self, path: Path) -> None:
        self._path = path  # where what they show is kept across a clean restart
        self.shown: dict[int, Shown] = {}
        self._cached: dict[int, tuple[int, int, Shown]] = {}  # from the last run: job -> (chat, message, shown)
        self.frozen: set[int] = set()  # jobs whose status message can't be edited any more
        self.editing: dict[int, asyncio.Task[None]] = {}

    def adopt(self, job: JobStatus) -> None:
        """A job seen for the first time: take over what its status message showed before a clean restart."""
        cached = self._cached.pop(job.id, None)
        if cached is not None and job.id not in self.shown and cached[:2] == (job.chat_id, job.status_message_id):
            self.shown[job.id] = cached[2]

    def in_flight(self) -> list[asyncio.Task[None]]:
        """The status edits under way."""
        return list(self.editing.values())

    async def settle(self) -> None:
        """Wait for the status edits under way."""
        await asyncio.gather(*self.in_flight())

    def forget_gone(self, live: set[int], held: set[int]) -> None:
        """Forget what the messages of jobs no longer `live` show, which of them can't be edited (unless results
        still hold the job), and what the last run left."""
        for job_id in [job_id for job_id in self.shown if job_id not in live]:
            del self.shown[job_id]
        self.frozen &= live | held
        self._cached.clear()

    def save(self, jobs: Iterable[JobStatus]) -> None:
        """Write what each live job's status message shows, so the next run edits none of them needlessly."""
        entries = {}
        for job in jobs:
            shown = self.shown.get(job.id)
            if shown is None or not shown.text or not shown.checked or job.status_message_id is None:
                continue
            if job.id in self.frozen or job.id in self.editing:
                continue
            entries[str(job.id)] = [job.chat_id, job.status_message_id, shown.text, shown.position, shown.online]
        if not entries:
            return
        path = self._path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_text(json.dumps({"jobs": entries}), encoding="utf-8")
            os.replace(partial, path)
        except OSError as exc:
            log.warning("could not save what the status messages show: %s", exc)

    def load(self) -> None:
        """Read what the last clean run left (once: a crash later must not make us trust an old file)."""
        path = self._path
        try:
            raw = path.read_text(encoding="utf-8")
            path.unlink()
            entries = json.loads(raw)["jobs"]
            for key, (chat_id, message_id, text, position, online) in entries.items():
                shown = Shown(str(text), None if position is None else int(position), bool(online))
                self._cached[int(key)] = (int(chat_id), int(message_id), shown)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s: %s", path, exc)
