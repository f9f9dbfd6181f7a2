"""The worker loops, one module per queue backend (`jobs.queue.<backend>`), chosen by the database."""

from __future__ import annotations

from typing import Protocol

from jobs.database import POSTGRES, SQLITE, dialect_of
from worker.context import WorkerContext


class Loop(Protocol):
    """What each loop module offers."""

    def run(self, context: WorkerContext, *, poll_interval: float, max_jobs: int | None) -> int:
        """Take jobs and run them one at a time until the stop event (or `max_jobs`); returns the jobs run."""
        ...


def loop_for(database_url: str) -> Loop:
    """The loop module for this database."""
    dialect = dialect_of(database_url)
    if dialect == SQLITE:
        from worker.loops import sqlite

        return sqlite
    if dialect == POSTGRES:
        from worker.loops import postgres

        return postgres
    raise RuntimeError(f"no worker loop for {dialect!r}")  # dialect_of admits only the two
