"""The optimisation loop on TensorFlow: gradient by GradientTape, iterations inside one tf.function."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from engine.backend.types import BareRun, Carry, Objective, Run, State, Targets, Tensor
from engine.optim import Optimizer

_determinism = False  # op determinism is process-wide and cannot be turned off again


class TensorFlowRunner:
    """Runs `steps` optimiser iterations per call without leaving the device.

    The loop is traced once, for inputs of any shape (the losses read sizes when run), so every canvas size
    reuses it, and a picture does not depend on which sizes the process happened to trace first.
    """

    def __init__(self, model: keras.Model, objective: Objective, optimizer: Optimizer) -> None:
        self._model = model
        self._objective = objective
        self._optimizer = optimizer
        self._run: Callable[..., tuple[State, tf.Tensor]] | None = None  # made once the inputs' structure is known
        self.traces = 0

    def features(self, image: np.ndarray) -> list[Tensor]:
        return list(self._model(tf.convert_to_tensor(image), training=False))

    def to_device(self, targets: Targets) -> Targets:
        on_device: Targets = tf.nest.map_structure(tf.convert_to_tensor, targets)
        return on_device

    def init(self, image: np.ndarray) -> State:
        return self._optimizer.init(tf.convert_to_tensor(image, dtype=tf.float32))

    def run(self, state: State, steps: int, targets: Targets) -> tuple[State, np.ndarray]:
        inputs = (tuple(state), tf.constant(steps, tf.int32), targets)
        if self._run is None:
            self._run = tf.function(self._loop, input_signature=tf.nest.map_structure(_any_shape, inputs))
        state, metrics = self._run(*inputs)
        return state, metrics.numpy()

    def image(self, state: State) -> np.ndarray:
        return np.asarray(state[0].numpy())

    def loss_and_grad(self, image: np.ndarray, targets: Targets) -> tuple[float, np.ndarray]:
        x = tf.convert_to_tensor(image, dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total, _ = self._objective(self._model(x, training=False), x, targets)
        return float(total), np.asarray(tape.gradient(total, x).numpy())

    def _loop(self, state: State, steps: tf.Tensor, targets: Targets) -> tuple[State, tf.Tensor]:
        self.traces += 1  # runs while tracing only
        def body(i: tf.Tensor, state: State, metrics: tf.Tensor) -> tuple[tf.Tensor, State, tf.Tensor]:
            x = state[0]
            with tf.GradientTape() as tape:
                tape.watch(x)
                total, (l_content, l_style) = self._objective(self._model(x, training=False), x, targets)
            grad = tape.gradient(total, x)
            return i + 1, self._optimizer.update(state, grad), tf.stack([total, l_content, l_style])

        _, state, metrics = tf.while_loop(
            lambda i, *_: i < steps, body, (tf.constant(0), tuple(state), tf.zeros((3,))), parallel_iterations=1
        )
        return state, metrics


def _any_shape(x: Any) -> tf.TensorSpec:
    return tf.TensorSpec([None] * len(x.shape), x.dtype)


def new_runner(model: keras.Model, objective: Objective, optimizer: Optimizer) -> TensorFlowRunner:
    return TensorFlowRunner(model, objective, optimizer)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, tf.errors.ResourceExhaustedError)


def bare_network(model: keras.Model) -> BareRun:
    def passes(x: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
        def body(i: tf.Tensor, acc: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            xi = x + acc * 0.0  # depends on the loop carry, so nothing is hoisted out of the loop
            with tf.GradientTape() as tape:
                tape.watch(xi)
                total = tf.add_n([tf.reduce_sum(tf.cast(f, tf.float32)) for f in model(xi, training=False)])
            return i + 1, acc + tf.reduce_sum(tape.gradient(total, xi))

        return tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), tf.constant(0.0)))[1]

    loop = tf.function(passes)

    def run(image: np.ndarray, steps: int) -> None:
        loop(tf.convert_to_tensor(image), tf.constant(steps)).numpy()

    return run


def repeat(step: Callable[[Carry], Carry], carry: Carry) -> Run:
    start = tf.nest.map_structure(tf.convert_to_tensor, carry)

    def steps_of(carry: Any, n: tf.Tensor) -> Any:
        return tf.while_loop(
            lambda i, _: i < n, lambda i, c: (i + 1, step(c)), (tf.constant(0), carry), parallel_iterations=1
        )[1]

    loop = tf.function(steps_of)

    def run(steps: int) -> None:
        tf.nest.flatten(loop(start, tf.constant(steps)))[0].numpy()  # every output comes from the one loop

    return run


def gradient(fn: Callable[[Carry], Tensor], x: Carry) -> Carry:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    grads: Carry = tape.gradient(y, x)
    return grads


def enable_compilation_cache(path: Path) -> bool:
    return False  # tf.function traces live in the process; Stylizer.warm_up does the tracing at start instead


def enable_determinism(seed: int) -> bool:
    global _determinism
    tf.random.set_seed(seed)
    if _determinism:
        return False
    tf.config.experimental.enable_op_determinism()
    _determinism = True
    return True


def device_name() -> str:
    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


def peak_device_memory() -> int | None:
    if device_name() == "CPU":
        return None
    return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
