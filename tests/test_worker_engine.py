"""The real engine through the worker's code path: many iterations per compiled call, not one call per iteration."""

from __future__ import annotations

import importlib.util
import logging
import re

import pytest

from jobs.bot_stores import BotStores
from jobs.models import JobState
from settings import Settings
from tests.support.backends import SQLITE, Backend
from tests.support.jobs import WorkerThread, new_job, wait_state

ENGINE_MISSING = importlib.util.find_spec("keras") is None


@pytest.fixture
def backend() -> Backend:
    return Backend(SQLITE)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.skipif(ENGINE_MISSING, reason="the engine (Keras) can't be imported")
async def test_a_job_comes_back_to_the_host_about_twice_a_second_not_every_iteration(
    stores: BotStores, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from engine import Stylizer

    caplog.set_level(logging.INFO, logger="stylebot.worker")
    iterations = 120
    job_id = (await stores.jobs.enqueue(new_job(stores.storage, 1, 1, iterations=iterations, max_side=48))).job_id
    worker = WorkerThread(settings, Stylizer(weights="random"))
    try:
        done = await wait_state(stores.jobs, job_id, JobState.DONE, within=200)
    finally:
        worker.stop()
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"job_end job={job_id} ")]
    loop_calls = int(re.search(r"loop_calls=(\d+)", line)[1])  # type: ignore[index]
    run_s = float(re.search(r"engine_s=([\d.]+)", line)[1])  # type: ignore[index]
    assert done.total_iterations == iterations
    # About one call per half second (the first, compiling call runs a single iteration), never one per iteration.
    assert loop_calls <= run_s / 0.5 + 6, line
    assert loop_calls < iterations / 4, line
