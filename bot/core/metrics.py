"""Prometheus metrics of the bot process: recorded always (cheap), served only when STYLEBOT_METRICS_PORT > 0."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from jobs.models import ErrorCode, JobState, JobStatus

DURATION_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)
WAIT_BUCKETS = (0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
OUTCOMES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)

QUEUE_LENGTH = Gauge("stylebot_queue_length", "Jobs waiting (queued) or being painted (running).", ["state"])
JOB_DURATION = Histogram(
    "stylebot_job_duration_seconds",
    "Run time of finished jobs (start to end of the last attempt), by outcome.",
    ["outcome"],
    buckets=DURATION_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "stylebot_job_queue_wait_seconds",
    "Time finished jobs waited before their last attempt started.",
    buckets=WAIT_BUCKETS,
)
FAILURES = Counter("stylebot_job_failures", "Failed jobs, by reason (the job's error code).", ["reason"])
DELIVERED = Counter("stylebot_jobs_delivered", "Job outcomes sent to their chat, by outcome.", ["outcome"])
TELEGRAM_RETRIES = Counter(
    "stylebot_telegram_retries", "Telegram 429 answers waited out (retry_after) and retried, by method.", ["method"]
)

# Every known series shows from the start (as 0), so dashboards and alerts need no "absent" special cases.
for _state in (JobState.QUEUED, JobState.RUNNING):
    QUEUE_LENGTH.labels(_state.value)
for _outcome in OUTCOMES:
    JOB_DURATION.labels(_outcome.value)
    DELIVERED.labels(_outcome.value)
for _code in ErrorCode:
    FAILURES.labels(_code.value)


def set_queue(active: Iterable[JobStatus]) -> None:
    """Set the queue-length gauges from the queue's active jobs (queued and running)."""
    active = list(active)
    for state in (JobState.QUEUED, JobState.RUNNING):
        QUEUE_LENGTH.labels(state.value).set(sum(1 for job in active if job.state == state))


def job_timings(job: JobStatus, now: float | None = None) -> tuple[float, float]:
    """(seconds queued, seconds running) of a finished job; a job cancelled while queued never ran."""
    end = job.finished_at if job.finished_at is not None else (time.time() if now is None else now)
    started = job.started_at if job.started_at is not None else end
    return max(0.0, started - job.created_at), max(0.0, end - started)


def observe_delivered(job: JobStatus) -> tuple[float, float]:
    """Record a job whose outcome reached its chat; returns its (queued, running) seconds for the log line."""
    queued_s, run_s = job_timings(job)
    outcome = job.state.value
    DELIVERED.labels(outcome).inc()
    if job.started_at is not None:
        JOB_DURATION.labels(outcome).observe(run_s)
        QUEUE_WAIT.observe(queued_s)
    if job.state == JobState.FAILED:
        FAILURES.labels(job.error_code or ErrorCode.INTERNAL.value).inc()
    return queued_s, run_s


def telegram_retry(method: str) -> None:
    """Count one 429 (flood control) answer from Telegram."""
    TELEGRAM_RETRIES.labels(method or "unknown").inc()


def serve(port: int, addr: str = "0.0.0.0") -> Callable[[], None]:
    """Serve /metrics on addr:port from a thread; returns the function that stops the server."""
    server, thread = start_http_server(port, addr)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
