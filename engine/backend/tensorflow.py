"""The optimisation loop on TensorFlow: gradient by GradientTape, iterations inside one tf.function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from engine.optim import Optimizer, State

Tensor = Any
Objective = Callable[..., tuple[Tensor, tuple[Tensor, Tensor]]]


class Runner:
    """Runs `steps` optimiser iterations per call without leaving the device; traced once per shape."""

    def __init__(self, model: Any, objective: Objective, optimizer: Optimizer) -> None:
        self._model = model
        self._objective = objective
        self._optimizer = optimizer
        self._run = tf.function(self._loop, reduce_retracing=False)

    def features(self, image: np.ndarray) -> list[Tensor]:
        return list(self._model(tf.convert_to_tensor(image), training=False))

    def to_device(self, targets: Any) -> Any:
        """Move the objective's inputs to the device once per stage, not on every call."""
        return tf.nest.map_structure(tf.convert_to_tensor, targets)

    def init(self, image: np.ndarray) -> State:
        return self._optimizer.init(tf.convert_to_tensor(image, dtype=tf.float32))

    def run(self, state: State, steps: int, *targets: Tensor) -> tuple[State, np.ndarray]:
        state, metrics = self._run(state, tf.constant(steps, tf.int32), *targets)
        return state, metrics.numpy()

    def image(self, state: State) -> np.ndarray:
        return state[0].numpy()

    def loss_and_grad(self, image: np.ndarray, *targets: Tensor) -> tuple[float, np.ndarray]:
        """The objective and its gradient at `image` (for checks; the loop never leaves the device)."""
        x = tf.convert_to_tensor(image, dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total, _ = self._objective(self._model(x, training=False), x, *targets)
        return float(total), tape.gradient(total, x).numpy()

    def _loop(self, state: State, steps: tf.Tensor, content: Tensor, grams: Sequence[Tensor], coeffs: Tensor):
        def body(i: tf.Tensor, state: State, metrics: tf.Tensor):
            x = state[0]
            with tf.GradientTape() as tape:
                tape.watch(x)
                feats = self._model(x, training=False)
                total, (l_content, l_style) = self._objective(feats, x, content, grams, coeffs)
            grad = tape.gradient(total, x)
            return i + 1, self._optimizer.update(state, grad), tf.stack([total, l_content, l_style])

        _, state, metrics = tf.while_loop(
            lambda i, *_: i < steps, body, (tf.constant(0), tuple(state), tf.zeros((3,))), parallel_iterations=1
        )
        return state, metrics


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, tf.errors.ResourceExhaustedError)


def bare_network(model: Any) -> Callable[[np.ndarray, int], None]:
    """Runs `steps` forward+backward passes of the bare network (sum of its outputs) and waits for them."""

    @tf.function
    def loop(x: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
        def body(i: tf.Tensor, acc: tf.Tensor):
            xi = x + acc * 0.0  # depends on the loop carry, so nothing is hoisted out of the loop
            with tf.GradientTape() as tape:
                tape.watch(xi)
                total = tf.add_n([tf.reduce_sum(f) for f in model(xi, training=False)])
            return i + 1, acc + tf.reduce_sum(tape.gradient(total, xi))

        return tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), tf.constant(0.0)))[1]

    def run(image: np.ndarray, steps: int) -> None:
        loop(tf.convert_to_tensor(image), tf.constant(steps)).numpy()

    return run
