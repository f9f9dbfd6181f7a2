"""The optimisation loop on JAX: value_and_grad, iterations inside one jitted lax.fori_loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from engine.optim import Optimizer, State

Tensor = Any
Objective = Callable[..., tuple[Tensor, tuple[Tensor, Tensor]]]


class Runner:
    """Runs `steps` optimiser iterations per call without leaving the device; compiled once per shape."""

    def __init__(self, model: Any, objective: Objective, optimizer: Optimizer) -> None:
        self._model = model
        self._objective = objective
        self._optimizer = optimizer
        # The weights are passed as arguments, not baked into the program as constants.
        self._weights = [v.value for v in model.non_trainable_variables]
        self._features = jax.jit(self._call)
        self._run = jax.jit(self._loop, donate_argnums=(1,))

    def _call(self, weights: list[jax.Array], x: jax.Array) -> list[jax.Array]:
        trainable = [v.value for v in self._model.trainable_variables]
        outputs, _ = self._model.stateless_call(trainable, weights, x, training=False)
        return list(outputs)

    def features(self, image: np.ndarray) -> list[Tensor]:
        return self._features(self._weights, jnp.asarray(image))

    def to_device(self, targets: Any) -> Any:
        """Move the objective's inputs to the device once per stage, not on every call."""
        return jax.device_put(targets)

    def init(self, image: np.ndarray) -> State:
        return self._optimizer.init(jnp.asarray(image, dtype=jnp.float32))

    def run(self, state: State, steps: int, *targets: Tensor) -> tuple[State, np.ndarray]:
        state, metrics = self._run(self._weights, tuple(state), jnp.int32(steps), *targets)
        return state, np.asarray(metrics)

    def image(self, state: State) -> np.ndarray:
        return np.asarray(state[0])

    def loss_and_grad(self, image: np.ndarray, *targets: Tensor) -> tuple[float, np.ndarray]:
        """The objective and its gradient at `image` (for checks; the loop never leaves the device)."""

        def loss(x: jax.Array) -> jax.Array:
            return self._objective(self._call(self._weights, x), x, *targets)[0]

        total, grad = jax.value_and_grad(loss)(jnp.asarray(image, dtype=jnp.float32))
        return float(total), np.asarray(grad)

    def _loop(self, weights, state: State, steps, content: Tensor, grams: Sequence[Tensor], coeffs: Tensor):
        def loss(x: jax.Array):
            return self._objective(self._call(weights, x), x, content, grams, coeffs)

        def body(_: int, carry):
            state, _metrics = carry
            (total, (l_content, l_style)), grad = jax.value_and_grad(loss, has_aux=True)(state[0])
            return self._optimizer.update(state, grad), jnp.stack([total, l_content, l_style])

        return jax.lax.fori_loop(0, steps, body, (state, jnp.zeros((3,), jnp.float32)))


def is_out_of_memory(exc: BaseException) -> bool:
    return "RESOURCE_EXHAUSTED" in str(exc) or "Out of memory" in str(exc)


def bare_network(model: Any) -> Callable[[np.ndarray, int], None]:
    """Runs `steps` forward+backward passes of the bare network (sum of its outputs) and waits for them."""
    weights = [v.value for v in model.non_trainable_variables]

    def total(w: list[jax.Array], x: jax.Array) -> jax.Array:
        outputs, _ = model.stateless_call([], w, x, training=False)
        return sum(jnp.sum(f) for f in outputs)

    @jax.jit
    def loop(w: list[jax.Array], x: jax.Array, n: jax.Array) -> jax.Array:
        grad = jax.grad(total, argnums=1)
        return jax.lax.fori_loop(0, n, lambda _, acc: acc + jnp.sum(grad(w, x + acc * 0)), jnp.float32(0))

    def run(image: np.ndarray, steps: int) -> None:
        loop(weights, jnp.asarray(image), jnp.int32(steps)).block_until_ready()

    return run
