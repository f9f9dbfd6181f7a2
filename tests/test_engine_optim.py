"""The compiled L-BFGS matches the textbook two-loop recursion, and both optimisers minimise."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from engine.optim import Optimizer


def two_loop(g: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """H·g by Nocedal & Wright's algorithm 7.4 (pairs oldest first), in float64."""
    q = g.astype(np.float64).copy()
    alphas = []
    for s, y in reversed(pairs):
        a = (s @ q) / (y @ s)
        q -= a * y
        alphas.append(a)
    s_last, y_last = pairs[-1]
    r = (s_last @ y_last) / (y_last @ y_last) * q
    for (s, y), a in zip(pairs, reversed(alphas), strict=True):
        b = (y @ r) / (y @ s)
        r += s * (a - b)
    return np.asarray(r)


def quadratic_run(opt: Optimizer, hessian: np.ndarray, x0: np.ndarray, steps: int):  # type: ignore[no-untyped-def]
    state = opt.init(x0)
    history = []
    for _ in range(steps):
        x = np.asarray(ops.convert_to_numpy(state[0])).ravel()
        history.append(x)
        state = opt.update(state, hessian @ x)
    return state, history


@pytest.mark.parametrize("history_size", [3, 20])
def test_lbfgs_direction_equals_two_loop_recursion(history_size: int) -> None:
    rng = np.random.default_rng(0)
    n = 12
    a = rng.normal(size=(n, n))
    hessian = (a @ a.T / n + np.eye(n)).astype(np.float32)
    opt = Optimizer("lbfgs", history=history_size)
    state, xs = quadratic_run(opt, hessian, rng.normal(size=n).astype(np.float32), 6)
    x_now = np.asarray(ops.convert_to_numpy(state[0])).ravel()
    g_now = hessian @ x_now
    pairs = [(xs[i + 1] - xs[i], hessian @ (xs[i + 1] - xs[i])) for i in range(len(xs) - 1)]
    pairs.append((x_now - xs[-1], hessian @ (x_now - xs[-1])))
    expected_step = two_loop(g_now, pairs[-history_size:])
    new_state = opt.update(state, g_now)
    step = x_now - np.asarray(ops.convert_to_numpy(new_state[0])).ravel()
    np.testing.assert_allclose(step, expected_step, rtol=2e-3, atol=1e-5)


@pytest.mark.parametrize("name", ["lbfgs", "adam"])
def test_optimisers_minimise_a_quadratic(name: str) -> None:
    rng = np.random.default_rng(1)
    hessian = np.diag(np.linspace(1, 10, 8)).astype(np.float32)
    x0 = rng.normal(size=8).astype(np.float32) * 5
    opt = Optimizer(name, learning_rate=0.5) if name == "adam" else Optimizer(name)
    state, _ = quadratic_run(opt, hessian, x0, 60)
    x = np.asarray(ops.convert_to_numpy(state[0])).ravel()
    assert x @ hessian @ x < 1e-3 * (x0 @ hessian @ x0)


def test_unknown_optimiser_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown optimiser"):
        Optimizer("sgd").init(np.zeros(3, np.float32))
