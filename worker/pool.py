"""Local worker processes for `stylebot run`: start N, restart any that dies, stop them all."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from jobs.models import ErrorCode
from jobs.queue import open_worker_queue
from presence import heartbeat_age, stuck_after_s, worker_name
from settings import SECRET_VARIABLES, Settings

log = logging.getLogger("stylebot.pool")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
QUICK_DEATH_S = 30.0  # a worker that dies younger than this is restarted with a growing delay
MAX_RESTART_DELAY_S = 60.0


class WorkerPool:
    """N `python -m worker` subprocesses, watched by a thread that restarts any that exits."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        *,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        restart_delay_s: float = 1.0,
        check_interval_s: float = 0.5,
    ) -> None:
        self.settings = settings
        self.count = count
        self.command = command or [sys.executable, "-m", "worker"]
        self.restart_delay_s = restart_delay_s
        self.check_interval_s = check_interval_s
        self.restarts = 0
        pythonpath = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        inherited = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
        self._env = {**inherited, "PYTHONPATH": pythonpath, **settings.to_env(secrets=False), **(env or {})}
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self._ids: list[str] = [""] * count
        self._generation = 0
        self._started_at: list[float] = [0.0] * count
        self._died_at: list[float | None] = [None] * count
        self._quick_deaths: list[int] = [0] * count
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._procs if p is not None and p.poll() is None]

    def pid_of(self, worker_id: str) -> int | None:
        """The process id of the live worker with this id (the id it has in the queue and the logs)."""
        with self._lock:
            for proc, known in zip(self._procs, self._ids, strict=True):
                if known == worker_id and proc is not None and proc.poll() is None:
                    return proc.pid
        return None

    def start(self) -> None:
        """Start every worker and the thread that watches them."""
        self._stopping.clear()
        with self._lock:
            for slot in range(self.count):
                self._spawn(slot)
        self._monitor = threading.Thread(target=self._watch, name="worker-pool", daemon=True)
        self._monitor.start()

    def slot_env(self, slot: int) -> dict[str, str]:
        """The environment of worker `slot`: with STYLEBOT_GPUS=0,1,… each worker gets its own GPU."""
        gpus = self.settings.gpu_ids
        if not gpus:
            return self._env
        return {**self._env, "CUDA_VISIBLE_DEVICES": gpus[slot % len(gpus)]}

    def _spawn(self, slot: int) -> None:
        self._generation += 1
        worker_id = f"{socket.gethostname()}:pool{slot}.{self._generation}"
        proc = subprocess.Popen(
            [*self.command, "--worker-id", worker_id], env=self.slot_env(slot), cwd=PROJECT_ROOT
        )
        self._procs[slot] = proc
        self._ids[slot] = worker_id
        self._started_at[slot] = time.monotonic()
        self._died_at[slot] = None
        log.info("pool_spawn slot=%d pid=%d worker=%s", slot, proc.pid, worker_id)

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_interval_s):
            with self._lock:
                for slot, proc in enumerate(self._procs):
                    if proc is None or self._stopping.is_set():
                        continue
                    if proc.poll() is not None:
                        self._restart_when_due(slot, proc)
                    elif self._stuck(slot):
                        self._kill_stuck(slot, proc)

    def _stuck(self, slot: int) -> bool:
        """The worker's presence beat before and then fell silent (see `presence`): its engine is stuck in a job."""
        age = heartbeat_age(self.settings.data_dir, worker_name(self._ids[slot]))
        return age is not None and age > stuck_after_s(self.settings.lease_s)

    def _kill_stuck(self, slot: int, proc: subprocess.Popen[bytes]) -> None:
        worker_id = self._ids[slot]
        log.error("pool_kill_stuck slot=%d pid=%d worker=%s: its heartbeat stopped", slot, proc.pid, worker_id)
        proc.kill()
        proc.wait()
        try:
            with open_worker_queue(self.settings) as queue:
                for job_id in queue.abandon(worker_id, ErrorCode.TIME_LIMIT):
                    log.error("job %d: failed for its time limit (worker %s was stuck)", job_id, worker_id)
        except Exception:
            log.exception("could not record the stuck worker's job; the queue's own recovery will")

    def _restart_when_due(self, slot: int, proc: subprocess.Popen[bytes]) -> None:
        """Restart a dead worker; back off while it keeps dying young (e.g. the engine cannot load)."""
        now = time.monotonic()
        died_at = self._died_at[slot]
        if died_at is None:
            died_at = self._died_at[slot] = now
            lived = now - self._started_at[slot]
            self._quick_deaths[slot] = self._quick_deaths[slot] + 1 if lived < QUICK_DEATH_S else 0
            log.warning("pool_worker_exit slot=%d pid=%d exit=%s lived_s=%.1f", slot, proc.pid, proc.returncode, lived)
        quick = self._quick_deaths[slot]
        delay = min(MAX_RESTART_DELAY_S, self.restart_delay_s * 2 ** (quick - 1)) if quick else 0.0
        if now - died_at >= delay:
            self.restarts += 1
            self._spawn(slot)

    def stop(self, timeout_s: float | None = None) -> None:
        """SIGTERM every worker (each finishes or re-queues its job); SIGKILL those alive at the timeout."""
        timeout_s = self.settings.shutdown_grace_s + 10 if timeout_s is None else timeout_s
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join()
            self._monitor = None
        with self._lock:
            procs = [p for p in self._procs if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pool_kill pid=%d: still running %.0f s after SIGTERM", proc.pid, timeout_s)
                proc.kill()
                proc.wait()

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
