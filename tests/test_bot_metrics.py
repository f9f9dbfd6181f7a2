"""Prometheus metrics as a person scraping /metrics sees them after a delivered job and a failed one."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import presence
from bot.core import metrics
from jobs.models import JobState, JobStatus
from tests.support.bot import (
    ALICE,
    bot_settings,
    fake_api,
    is_result,
    is_status,
    job_status,
    private,
    running_bot,
    workers,
)
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition text, keyed by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return parse(response.read().decode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def finished(state: JobState, *, error_code: str | None = None, started: float | None = 110.0) -> JobStatus:
    return job_status(
        state=state, created_at=100.0, started_at=started, finished_at=135.0, error_code=error_code, message_id=2
    )


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_observe_delivered_and_queue_in_the_exposition() -> None:
    """A done job and a failed one: delivered by outcome, a duration each, the failure by its reason."""
    before = parse(generate_latest().decode())
    assert metrics.observe_delivered(finished(JobState.DONE)) == (10.0, 25.0)
    assert metrics.observe_delivered(finished(JobState.FAILED, error_code="time_limit")) == (10.0, 25.0)
    assert metrics.observe_delivered(finished(JobState.CANCELLED, started=None)) == (35.0, 0.0)
    metrics.set_queue([finished(JobState.QUEUED), finished(JobState.QUEUED), finished(JobState.RUNNING)])
    metrics.telegram_retry("sendPhoto")
    after = parse(generate_latest().decode())

    assert delta(after, before, "stylebot_jobs_delivered_total", outcome="done") == 1
    assert delta(after, before, "stylebot_jobs_delivered_total", outcome="failed") == 1
    assert delta(after, before, "stylebot_jobs_delivered_total", outcome="cancelled") == 1
    assert delta(after, before, "stylebot_job_failures_total", reason="time_limit") == 1
    assert delta(after, before, "stylebot_job_failures_total", reason="internal") == 0
    assert delta(after, before, "stylebot_job_duration_seconds_count", outcome="done") == 1
    assert delta(after, before, "stylebot_job_duration_seconds_sum", outcome="done") == 25.0
    assert delta(after, before, "stylebot_job_duration_seconds_bucket", outcome="done", le="20.0") == 0
    assert delta(after, before, "stylebot_job_duration_seconds_bucket", outcome="done", le="30.0") == 1
    assert delta(after, before, "stylebot_job_duration_seconds_count", outcome="cancelled") == 0, "it never ran"
    assert delta(after, before, "stylebot_job_queue_wait_seconds_count") == 2
    assert delta(after, before, "stylebot_telegram_retries_total", method="sendPhoto") == 1
    assert value(after, "stylebot_queue_length", state="queued") == 2
    assert value(after, "stylebot_queue_length", state="running") == 1
    # Known series exist before anything happened to them.
    assert ("stylebot_job_failures_total", (("reason", "out_of_memory"),)) in after


async def test_bot_serves_metrics_and_health_after_a_done_and_a_failed_job(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot's /metrics after a result (with two 429s on the way) and a time-limit failure; health is ok."""
    caplog.set_level(logging.INFO, logger="bot.delivery")
    port = free_port()
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api, metrics_port=port, metrics_addr="127.0.0.1")
        chat = private(ALICE)
        async with running_bot(settings):
            before = scrape(port)
            with workers(settings, seconds=0.1):
                api.user_photo(chat, ALICE, picture(), caption="/style mosaic")
                await api.wait_for("sendPhoto", is_status)
                api.fail_next("sendPhoto", 2, retry_after=1)
                await api.wait_for("sendPhoto", is_result, within_s=20)
                ok, line = presence.check(settings.data_dir, max_age_s=5)
                assert ok, line

            api.user_photo(chat, ALICE, picture(), caption="/style the_scream")  # no worker: it waits
            await api.wait_for("sendPhoto", is_status, count=2)
            await asyncio.sleep(0.3)
            assert value(scrape(port), "stylebot_queue_length", state="queued") == 1

            with workers(dataclasses.replace(settings, job_time_limit_s=0.3), seconds=10):
                await api.wait_for("editMessageCaption", lambda c: "took too long" in c.caption, within_s=20)
                await asyncio.sleep(0.3)
            after = scrape(port)
        with pytest.raises(OSError):
            scrape(port)  # the server stopped with the bot

    assert delta(after, before, "stylebot_jobs_delivered_total", outcome="done") == 1
    assert delta(after, before, "stylebot_jobs_delivered_total", outcome="failed") == 1
    assert delta(after, before, "stylebot_job_failures_total", reason="time_limit") == 1
    assert delta(after, before, "stylebot_job_duration_seconds_count", outcome="done") == 1
    assert delta(after, before, "stylebot_job_duration_seconds_count", outcome="failed") == 1
    assert delta(after, before, "stylebot_telegram_retries_total", method="sendPhoto") == 2
    assert value(after, "stylebot_queue_length", state="queued") == 0
    assert value(after, "stylebot_queue_length", state="running") == 0
    assert value(after, "process_cpu_seconds_total") > 0, "the default process metrics come along"

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job_delivered ")]
    assert len(lines) == 2
    assert "state=done code=- attempts=1" in lines[0] and "sent=photo" in lines[0]
    assert "state=failed code=time_limit" in lines[1] and "sent=status" in lines[1]
    for line in lines:
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        assert set(fields) == {"job", "state", "code", "attempts", "queued_s", "run_s", "engine_s", "sent"}
        assert float(fields["queued_s"]) >= 0 and float(fields["run_s"]) > 0
    assert api.token not in caplog.text


def test_bot_metrics_and_health_import_no_tensorflow() -> None:
    """The bot process (and the HEALTHCHECK) must stay light: no TensorFlow, Keras or JAX."""
    code = (
        "import sys, bot.telegram.app, bot.core.metrics, presence, stylebot.cli, jobs.bot_stores; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))"
    )
    root = Path(__file__).parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
