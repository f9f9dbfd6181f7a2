"""L-BFGS and Adam update rules as pure functions of tensors, written once with `keras.ops`.

The per-backend modules (`engine.backend.<name>`) only compute the gradient and run these updates inside a
compiled loop; the state is a tuple of tensors so it can be carried through `tf.while_loop` and
`jax.lax.fori_loop` alike.

L-BFGS follows the classic neural-style recipe (Torch's `optim.lbfgs`, no line search, learning rate 1): one
function evaluation per iteration, the first step scaled by min(1, 1/‖g‖₁).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keras import ops

Tensor = Any
State = tuple[Tensor, ...]

LBFGS_HISTORY = 20
ADAM_LEARNING_RATE = 8.0  # in caffe pixel units (0..255 scale)


@dataclass(frozen=True)
class Optimizer:
    name: str
    history: int = LBFGS_HISTORY
    learning_rate: float = ADAM_LEARNING_RATE

    def init(self, x: Tensor) -> State:
        """The starting state for image `x` (any shape; updates work on the flattened vector)."""
        x = ops.convert_to_tensor(x, dtype="float32")
        n = int(x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3]) if len(x.shape) == 4 else int(x.shape[0])
        # Every buffer is its own array: JAX donates the state to the compiled loop, buffer by buffer.
        def zeros(*shape: int) -> Tensor:
            return ops.zeros(shape, dtype="float32")

        step = ops.zeros((), dtype="int32")
        if self.name == "adam":
            return (x, zeros(n), zeros(n), step)
        if self.name == "lbfgs":
            m = self.history
            return (x, zeros(n), zeros(n), zeros(m, n), zeros(m, n), zeros(m), ops.ones((), dtype="float32"), step)
        raise ValueError(f"unknown optimiser {self.name!r} (use lbfgs or adam)")

    def update(self, state: State, grad: Tensor) -> State:
        """One iteration: `grad` is the gradient of the loss at state[0]."""
        if self.name == "adam":
            return _adam(state, grad, self.learning_rate)
        return _lbfgs(state, grad)


def _adam(state: State, grad: Tensor, lr: float) -> State:
    x, m, v, step = state
    g = ops.reshape(grad, (-1,))
    step = step + 1
    t = ops.cast(step, "float32")
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * ops.square(g)
    m_hat = m / (1.0 - ops.power(0.9, t))
    v_hat = v / (1.0 - ops.power(0.999, t))
    delta = lr * m_hat / (ops.sqrt(v_hat) + 1e-8)
    return (x - ops.reshape(delta, ops.shape(x)), m, v, step)


def _lbfgs(state: State, grad: Tensor) -> State:
    x, x_prev, g_prev, s_hist, y_hist, rho, h_diag, step = state
    g = ops.reshape(grad, (-1,))
    x_flat = ops.reshape(x, (-1,))
    s = x_flat - x_prev
    y = g - g_prev
    ys = ops.sum(y * s)
    push = ops.logical_and(step > 0, ys > 1e-10)
    safe_ys = ops.where(push, ys, 1.0)
    s_hist = ops.where(push, ops.concatenate([s_hist[1:], s[None]], axis=0), s_hist)
    y_hist = ops.where(push, ops.concatenate([y_hist[1:], y[None]], axis=0), y_hist)
    rho = ops.where(push, ops.concatenate([rho[1:], ops.reshape(1.0 / safe_ys, (1,))]), rho)
    h_diag = ops.where(push, safe_ys / ops.maximum(ops.sum(y * y), 1e-30), h_diag)

    # Two-loop recursion, newest pair last; empty slots have rho = 0 and change nothing.
    q = g
    alphas = []
    for i in reversed(range(s_hist.shape[0])):
        a = rho[i] * ops.sum(s_hist[i] * q)
        q = q - a * y_hist[i]
        alphas.append(a)
    r = h_diag * q
    for i, a in zip(range(s_hist.shape[0]), reversed(alphas), strict=True):
        b = rho[i] * ops.sum(y_hist[i] * r)
        r = r + s_hist[i] * (a - b)

    first = ops.minimum(1.0, 1.0 / ops.maximum(ops.sum(ops.abs(g)), 1e-30))
    t = ops.where(step > 0, 1.0, first)
    x_new = x - ops.reshape(t * r, ops.shape(x))
    return (x_new, x_flat, g, s_hist, y_hist, rho, h_diag, step + 1)
