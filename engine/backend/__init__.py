"""Per-backend compiled loops (like Keras's own `keras/src/backend/<name>/`); everything else is shared.

`current()` returns the module for the active Keras backend (`KERAS_BACKEND`), typed as `Backend`. Both modules,
`engine.backend.tensorflow` and `engine.backend.jax`, implement it; mypy checks that in `_load`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import keras
import numpy as np

from engine.backend.types import BareRun, Carry, Objective, Run, State, Targets, Tensor

if TYPE_CHECKING:
    from engine.optim import Optimizer

SUPPORTED = ("tensorflow", "jax")
__all__ = ["BareRun", "Carry", "Objective", "Run", "State", "Targets", "Tensor"]

class Runner(Protocol):
    """One optimiser's compiled loop for one network: many iterations per call without leaving the device."""

    traces: int  # how many times the loop was traced so far (warm-up reports it)

    def features(self, image: np.ndarray) -> list[Tensor]:
        """The network's six feature maps for a (1, H, W, 3) caffe-space image."""
        ...

    def to_device(self, targets: Targets) -> Targets:
        """Move the objective's inputs to the device once per stage, not on every call."""
        ...

    def init(self, image: np.ndarray) -> State: ...

    def run(self, state: State, steps: int, targets: Targets) -> tuple[State, np.ndarray]:
        """`steps` iterations from `state`; returns the new state and the last [total, content, style] losses."""
        ...

    def image(self, state: State) -> np.ndarray: ...

    def loss_and_grad(self, image: np.ndarray, targets: Targets) -> tuple[float, np.ndarray]:
        """The objective and its gradient at `image` (for checks; the loop never leaves the device)."""
        ...


class Backend(Protocol):
    """What the engine needs from a backend module."""

    def new_runner(self, model: keras.Model, objective: Objective, optimizer: Optimizer) -> Runner: ...

    def is_out_of_memory(self, exc: BaseException) -> bool: ...

    def bare_network(self, model: keras.Model) -> BareRun:
        """Runs `steps` forward+backward passes of the bare network (sum of its outputs) and waits for them."""
        ...

    def repeat(self, step: Callable[[Carry], Carry], carry: Carry) -> Run:
        """A compiled loop applying `step` to `carry` n times per call (written with keras.ops); for timing parts."""
        ...

    def gradient(self, fn: Callable[[Carry], Tensor], x: Carry) -> Carry:
        """d fn / d x for a scalar `fn` of a tensor or a sequence of tensors; usable inside `repeat`'s step."""
        ...

    def enable_compilation_cache(self, path: Path) -> bool:
        """Keep compiled loops in `path` across processes; False where the backend has no such cache."""
        ...

    def enable_determinism(self, seed: int) -> bool:
        """Make runs bit-reproducible from now on; True when this call changed how ops run (retrace the loops)."""
        ...

    def device_name(self) -> str:
        """Where the loops run: "CPU" or "GPU" (or another accelerator's name)."""
        ...

    def peak_device_memory(self) -> int | None:
        """Peak bytes allocated on the accelerator so far, or None on a CPU."""
        ...


def current() -> Backend:
    """The loop module for the active Keras backend."""
    return _load(keras.backend.backend())


def enable_compilation_cache(path: str | Path) -> bool:
    """Keep compiled loops on disk in `path`, so a restarted worker does not compile again.

    JAX: the persistent compilation cache, every loop included (call it before building the `Stylizer`, so its
    first loops are stored too). TensorFlow keeps no traced functions across processes: this returns False and
    does nothing there; use `Stylizer.warm_up` at start instead.
    """
    return current().enable_compilation_cache(Path(path))


def enable_determinism(seed: int = 0) -> bool:
    """Bit-reproducible runs from now on, for the whole process (there is no way back).

    TensorFlow: op determinism (and the seed). JAX: XLA's `--xla_gpu_deterministic_ops=true`, which must be in
    `XLA_FLAGS` before JAX starts its backend; called before the first `Stylizer` is built it sets it, later it
    raises `EngineError` on a GPU (CPU runs are deterministic already). The CLI calls it first for
    `--deterministic`; a worker that wants it sets `XLA_FLAGS=--xla_gpu_deterministic_ops=true` at start.
    """
    return current().enable_determinism(seed)


def _load(name: str) -> Backend:
    if name == "tensorflow":
        from engine.backend import tensorflow as tensorflow_loops

        return tensorflow_loops
    if name == "jax":
        from engine.backend import jax as jax_loops

        return jax_loops
    raise RuntimeError(f"Keras backend {name!r} is not supported; use one of {', '.join(SUPPORTED)}")
