"""How many iterations each compiled call runs, so the host hears back about every `chunk_seconds`.

The bound is in seconds, not iterations: on a GPU at ~2 ms an iteration, half a second is 250 of them, and a cap
of 50 would mean ten host round trips a second, each one a device sync during which the accelerator waits for
the host. A chunk grows at most `MAX_GROWTH`-fold per call, so a noisy estimate cannot overshoot by much, and
cancel (checked between calls) lands within about `chunk_seconds` plus one estimate's error, whatever the size.
"""

from __future__ import annotations

MAX_GROWTH = 4


class Pacer:
    """Chunk sizes for one stage; `seconds_per_iteration` is a measurement from an earlier run, if any."""

    def __init__(self, chunk_seconds: float, seconds_per_iteration: float | None = None) -> None:
        self._target = chunk_seconds
        self._per_iteration = seconds_per_iteration
        self._last: int | None = None  # the previous chunk; none yet means a known pace is trusted at once

    @property
    def seconds_per_iteration(self) -> float | None:
        return self._per_iteration

    def next_chunk(self, remaining: int) -> int:
        if self._per_iteration is None:
            return 1  # this call compiles; run one iteration so the cost is known afterwards
        wanted = int(self._target / max(self._per_iteration, 1e-9))
        if self._last is not None:
            wanted = min(wanted, self._last * MAX_GROWTH)
        return max(1, min(remaining, wanted))

    def record(self, steps: int, seconds: float) -> None:
        """A call ran `steps` iterations in `seconds`."""
        self._last = steps
        # The first call's time includes compiling: an over-estimate, so the next chunk errs on the short side.
        self._per_iteration = seconds / steps
