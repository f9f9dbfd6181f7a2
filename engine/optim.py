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
        return (x, zeros(n), zeros(n), zeros(2 * m, n), zeros(m, m), zeros(m, m), ones, step)

    def update(self, state: State, grad: Tensor) -> State:
        """One iteration: `grad` is the gradient of the loss at state[0]."""
        if self.name == "adam":
            return _adam(state, grad, self.learning_rate)
        return _lbfgs(state, grad, self.history)


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


def _lbfgs(state: State, grad: Tensor, m: int) -> State:
    """One step with a history of `m` pairs (a Python int: traced loops may not know the buffers' shapes)."""
    x, x_prev, g_prev, history, sy, yy, h_diag, step = state
    g = ops.reshape(grad, (-1,))
    x_flat = ops.reshape(x, (-1,))
    s = x_flat - x_prev
    y = g - g_prev
    ys = ops.sum(y * s)
    push = ops.logical_and(step > 0, ys > 1e-10)

    # The history is a ring of m pairs, S in rows 0..m-1 and Y in rows m..2m-1 of one buffer: the newest pair
    # overwrites the oldest slot in place (no copy of the big buffer), and one product of the whole buffer with
    # [y, s, g] gives every dot product this step needs. A rejected pair (y·s ≤ 0, or the first step) goes in as
    # zeros: an empty slot that changes nothing.
    keep = ops.cast(push, "float32")
    s = s * keep
    y = y * keep
    slot = ops.mod(step, m)
    history = ops.slice_update(history, (slot, 0), s[None])
    history = ops.slice_update(history, (slot + m, 0), y[None])
    products = ops.matmul(history, ops.stack([y, s, g], axis=1))  # (2m, 3)
    s_dot_y, y_dot_y = products[:m, 0], products[m:, 0]  # s_i·y and y_i·y for every slot i
    y_dot_s = products[m:, 1]  # s·y_j
    sy = _set_row_and_column(sy, slot, m, row=y_dot_s, column=s_dot_y)
    yy = _set_row_and_column(yy, slot, m, row=y_dot_y, column=y_dot_y)
    h_diag = ops.where(push, ys / ops.maximum(ops.sum(y * y), 1e-30), h_diag)

    # The compact form needs the pairs oldest first: reorder the small m-sized pieces, not the buffer.
    oldest_first = ops.mod(slot + 1 + ops.arange(m), m)
    weights = _compact_weights(
        ops.take(products[:m, 2], oldest_first),  # Sᵀg
        ops.take(products[m:, 2], oldest_first),  # Yᵀg
        ops.take(ops.take(sy, oldest_first, axis=0), oldest_first, axis=1),
        ops.take(ops.take(yy, oldest_first, axis=0), oldest_first, axis=1),
        h_diag,
        m,
    )
    by_slot = ops.take(weights, ops.concatenate([_slot_order(slot, m), _slot_order(slot, m) + m]))
    direction = h_diag * g + ops.reshape(ops.matmul(by_slot[None, :], history), (-1,))
    first = ops.minimum(1.0, 1.0 / ops.maximum(ops.sum(ops.abs(g)), 1e-30))
    t = ops.where(step > 0, 1.0, first)
    x_new = x - ops.reshape(t * direction, ops.shape(x))
    return (x_new, x_flat, g, history, sy, yy, h_diag, step + 1)


def _set_row_and_column(matrix: Tensor, index: Tensor, m: int, *, row: Tensor, column: Tensor) -> Tensor:
    """The m×m matrix with row `index` replaced by `row` and column `index` by `column` (they agree where they
    cross)."""
    at = ops.one_hot(index, m, dtype="float32")
    in_row, in_column = at[:, None], at[None, :]
    kept = matrix * (1.0 - in_row) * (1.0 - in_column)
    return kept + in_row * row[None, :] + (1.0 - in_row) * in_column * column[:, None]


def _slot_order(slot: Tensor, m: int) -> Tensor:
    """For each ring slot, its place counting from the oldest pair (the inverse of the oldest-first order)."""
    return ops.mod(ops.arange(m) - slot - 1, m)


def _compact_weights(s_g: Tensor, y_g: Tensor, sy: Tensor, yy: Tensor, gamma: Tensor, m: int) -> Tensor:
    """The 2m weights of [S; Y] in H·g = γg + [S; Y]ᵀ·weights (pairs oldest first), in the compact form of Byrd,
    Nocedal & Schnabel (1994), Nocedal & Wright eq. 7.24.

    H = γI + [S γY] [[R⁻ᵀ(D + γYᵀY)R⁻¹, −R⁻ᵀ], [−R⁻¹, 0]] [Sᵀ; γYᵀ], with R the upper triangle of SᵀY and D
    its diagonal. It equals the classic two-loop recursion but costs a few m×m solves instead of 4m vector
    operations over the whole image, which matters on a GPU (fewer kernels) and on a CPU alike. Empty history
    slots (all zeros) get a 1 on R's diagonal and then contribute nothing.
    """
    diag = ops.diagonal(sy)
    empty = ops.cast(diag <= 0.0, "float32")
    r = ops.triu(sy) + ops.diag(empty)
    r_inv_u = ops.solve_triangular(r, s_g[:, None], lower=False)
    middle = ops.matmul(ops.diag(diag) + gamma * yy, r_inv_u)
    p1 = ops.solve_triangular(ops.transpose(r), middle - gamma * y_g[:, None], lower=True)
    return ops.concatenate([ops.reshape(p1, (m,)), -gamma * ops.reshape(r_inv_u, (m,))])
