"""The optimisation loop on JAX: value_and_grad, iterations inside one jitted lax.fori_loop."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import keras
import numpy as np
from jax._src import xla_bridge
from jax.experimental.compilation_cache import compilation_cache

from engine.backend.types import BareRun, Carry, Objective, Run, State, Targets, Tensor
from engine.errors import EngineError
from engine.optim import Optimizer

DETERMINISTIC_FLAG = "--xla_gpu_deterministic_ops=true"
Metrics = tuple[State, jax.Array]


class JaxRunner:
    """Runs `steps` optimiser iterations per call without leaving the device; compiled once per canvas shape."""

    def __init__(self, model: keras.Model, objective: Objective, optimizer: Optimizer) -> None:
        self._model = model
        self._objective = objective
        self._optimizer = optimizer
        # The weights are passed as arguments, not baked into the program as constants.
        self._weights = [v.value for v in model.non_trainable_variables]
        self._features = jax.jit(self._call)
        self._run = jax.jit(self._loop, donate_argnums=(1,))
        self.traces = 0

    def _call(self, weights: list[jax.Array], x: jax.Array) -> list[jax.Array]:
        trainable = [v.value for v in self._model.trainable_variables]
        outputs, _ = self._model.stateless_call(trainable, weights, x, training=False)
        return list(outputs)

    def features(self, image: np.ndarray) -> list[Tensor]:
        return list(self._features(self._weights, jnp.asarray(image)))

    def to_device(self, targets: Targets) -> Targets:
        on_device: Targets = jax.device_put(targets)
        return on_device

    def init(self, image: np.ndarray) -> State:
        return self._optimizer.init(jnp.asarray(image, dtype=jnp.float32))

    def run(self, state: State, steps: int, targets: Targets) -> tuple[State, np.ndarray]:
        state, metrics = self._run(self._weights, tuple(state), jnp.int32(steps), targets)
        return state, np.asarray(metrics)

    def image(self, state: State) -> np.ndarray:
        return np.asarray(state[0])

    def loss_and_grad(self, image: np.ndarray, targets: Targets) -> tuple[float, np.ndarray]:
        def loss(x: jax.Array) -> jax.Array:
            total: jax.Array = self._objective(self._call(self._weights, x), x, targets)[0]
            return total

        total, grad = jax.value_and_grad(loss)(jnp.asarray(image, dtype=jnp.float32))
        return float(total), np.asarray(grad)

    def _loop(self, weights: list[jax.Array], state: State, steps: jax.Array, targets: Targets) -> Metrics:
        self.traces += 1  # runs while tracing, once per compiled shape
        def loss(x: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
            total, parts = self._objective(self._call(weights, x), x, targets)
            return total, parts

        def body(_: int, carry: Metrics) -> Metrics:
            state, _metrics = carry
            (total, (l_content, l_style)), grad = jax.value_and_grad(loss, has_aux=True)(state[0])
            return self._optimizer.update(state, grad), jnp.stack([total, l_content, l_style])

        result: Metrics = jax.lax.fori_loop(0, steps, body, (state, jnp.zeros((3,), jnp.float32)))
        return result


def new_runner(model: keras.Model, objective: Objective, optimizer: Optimizer) -> JaxRunner:
    return JaxRunner(model, objective, optimizer)


def is_out_of_memory(exc: BaseException) -> bool:
    return "RESOURCE_EXHAUSTED" in str(exc) or "Out of memory" in str(exc)


def bare_network(model: keras.Model) -> BareRun:
    weights = [v.value for v in model.non_trainable_variables]

    def total(w: list[jax.Array], x: jax.Array) -> jax.Array:
        outputs, _ = model.stateless_call([], w, x, training=False)
        return jnp.sum(jnp.stack([jnp.sum(f.astype(jnp.float32)) for f in outputs]))

    @jax.jit
    def loop(w: list[jax.Array], x: jax.Array, n: jax.Array) -> jax.Array:
        grad = jax.grad(total, argnums=1)
        result: jax.Array = jax.lax.fori_loop(0, n, lambda _, acc: acc + jnp.sum(grad(w, x + acc * 0)), jnp.float32(0))
        return result

    def run(image: np.ndarray, steps: int) -> None:
        loop(weights, jnp.asarray(image), jnp.int32(steps)).block_until_ready()

    return run


def repeat(step: Callable[[Carry], Carry], carry: Carry) -> Run:
    start = jax.device_put(carry)
    loop = jax.jit(lambda c, n: jax.lax.fori_loop(0, n, lambda _, c: step(c), c))

    def run(steps: int) -> None:
        jax.tree.leaves(loop(start, jnp.int32(steps)))[0].block_until_ready()  # all come from the one loop

    return run


def gradient(fn: Callable[[Carry], Tensor], x: Carry) -> Carry:
    grads: Carry = jax.grad(fn)(x)
    return grads


def enable_compilation_cache(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    compilation_cache.set_cache_dir(str(path))
    # By default JAX stores only programs that took over a second to compile; ours all count.
    _set_option("jax_persistent_cache_min_compile_time_secs", 0.0)
    _set_option("jax_persistent_cache_min_entry_size_bytes", -1)
    compilation_cache.reset_cache()  # picked up even if something was compiled before
    return True


def _set_option(name: str, value: float) -> None:
    jax.config.update(name, value)  # type: ignore[no-untyped-call]  # jax.config.update has no annotations


def enable_determinism(seed: int) -> bool:
    flags = os.environ.get("XLA_FLAGS", "")
    if DETERMINISTIC_FLAG in flags.split():
        return False
    if not xla_bridge.backends_are_initialized():
        os.environ["XLA_FLAGS"] = f"{flags} {DETERMINISTIC_FLAG}".strip()  # XLA reads it when the backend starts
        return True
    if jax.default_backend() == "cpu":
        return False  # XLA's CPU programs give the same bits every run already
    raise EngineError(
        f"Deterministic runs on JAX need XLA_FLAGS={DETERMINISTIC_FLAG} set before the engine starts "
        "(JAX has already started its GPU backend without it).",
        code="deterministic_unavailable",
    )


def device_name() -> str:
    return jax.default_backend().upper()


def peak_device_memory() -> int | None:
    device = jax.local_devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    return int(stats["peak_bytes_in_use"]) if stats and "peak_bytes_in_use" in stats else None
