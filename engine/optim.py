"""L-BFGS and Adam update rules as pure functions of tensors, written once with `keras.ops`.

The per-backend modules (`engine.backend.<name>`) only compute the gradient and run these updates inside a
compiled loop; the state is a tuple of tensors so it can be carried through `tf.while_loop` and
`jax.lax.fori_loop` alike.

L-BFGS follows the classic neural-style recipe (Torch's `optim.lbfgs`, no line search, learning rate 1): one
function evaluation per iteration, the first step scaled by min(1, 1/‖g‖₁); the direction uses the compact
matrix form of the inverse-Hessian product.
"""

from __future__ import annotations

import math
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

    def __post_init__(self) -> None:
        if self.name not in ("lbfgs", "adam"):
            raise ValueError(f"unknown optimiser {self.name!r} (use lbfgs or adam)")

    def init(self, x: Tensor) -> State:
        """The starting state for image `x` (any shape; updates work on the flattened vector)."""
        x = ops.convert_to_tensor(x, dtype="float32")
        n = math.prod(x.shape)

        # Every buffer is its own array: JAX donates the state to the compiled loop, buffer by buffer.
        def zeros(*shape: int) -> Tensor:
            return ops.zeros(shape, dtype="float32")

        step = ops.zeros((), dtype="int32")
        if self.name == "adam":
            return (x, zeros(n), zeros(n), step)
        m = self.history
        ones = ops.ones((), dtype="float32")
        return (x, zeros(n), zeros(n), zeros(m, n), zeros(m, n), zeros(m, m), zeros(m, m), ones, step)

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
    x, x_prev, g_prev, s_hist, y_hist, sy, yy, h_diag, step = state
    g = ops.reshape(grad, (-1,))
    x_flat = ops.reshape(x, (-1,))
    s = x_flat - x_prev
    y = g - g_prev
    ys = ops.sum(y * s)
    push = ops.logical_and(step > 0, ys > 1e-10)

    # Roll the newest pair in (oldest first) and update S·Yᵀ and Y·Yᵀ by one row and column each. A rejected
    # pair (y·s ≤ 0, or the first step) goes in as zeros: an empty slot that changes nothing. That costs a slot
    # on a rare rejection but spares selecting between two copies of the big history buffers every step.
    keep = ops.cast(push, "float32")
    s = s * keep
    y = y * keep
    s_hist = ops.concatenate([s_hist[1:], s[None]], axis=0)
    y_hist = ops.concatenate([y_hist[1:], y[None]], axis=0)
    sy = _roll_gram(sy, ops.matmul(s_hist, y), ops.matmul(y_hist, s))
    yy_row = ops.matmul(y_hist, y)
    yy = _roll_gram(yy, yy_row, yy_row)
    h_diag = ops.where(push, ys / ops.maximum(ops.sum(y * y), 1e-30), h_diag)

    direction = _compact_inverse_hessian_times(g, s_hist, y_hist, sy, yy, h_diag)
    first = ops.minimum(1.0, 1.0 / ops.maximum(ops.sum(ops.abs(g)), 1e-30))
    t = ops.where(step > 0, 1.0, first)
    x_new = x - ops.reshape(t * direction, ops.shape(x))
    return (x_new, x_flat, g, s_hist, y_hist, sy, yy, h_diag, step + 1)


def _roll_gram(matrix: Tensor, last_column: Tensor, last_row: Tensor) -> Tensor:
    """Drop the oldest row and column of an m×m matrix and append the newest ones."""
    kept = ops.concatenate([matrix[1:, 1:], last_column[:-1, None]], axis=1)
    return ops.concatenate([kept, last_row[None, :]], axis=0)


def _compact_inverse_hessian_times(
    g: Tensor, s_hist: Tensor, y_hist: Tensor, sy: Tensor, yy: Tensor, gamma: Tensor
) -> Tensor:
    """H·g in the compact form of Byrd, Nocedal & Schnabel (1994), Nocedal & Wright eq. 7.24.

    H = γI + [S γY] [[R⁻ᵀ(D + γYᵀY)R⁻¹, −R⁻ᵀ], [−R⁻¹, 0]] [Sᵀ; γYᵀ], with R the upper triangle of SᵀY and D
    its diagonal. It equals the classic two-loop recursion but costs a handful of matrix-vector products
    instead of 4m small vector operations, which matters on a GPU (fewer kernels) and on a CPU alike.
    Empty history slots (all zeros) get a 1 on R's diagonal and then contribute nothing.
    """
    m = sy.shape[0]
    diag = ops.diagonal(sy)
    empty = ops.cast(diag <= 0.0, "float32")
    r = ops.triu(sy) + ops.diag(empty)
    u = ops.matmul(s_hist, g)[:, None]  # Sᵀg
    w = gamma * ops.matmul(y_hist, g)[:, None]  # γYᵀg
    r_inv_u = ops.solve_triangular(r, u, lower=False)
    middle = ops.matmul(ops.diag(diag) + gamma * yy, r_inv_u)
    p1 = ops.solve_triangular(ops.transpose(r), middle - w, lower=True)
    p2 = -r_inv_u
    combined = ops.matmul(ops.reshape(p1, (1, m)), s_hist) + gamma * ops.matmul(ops.reshape(p2, (1, m)), y_hist)
    return gamma * g + ops.reshape(combined, (-1,))
