"""The losses match an independent numpy implementation of the design notes, and gradients are right."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from engine import losses


def np_gram(f: np.ndarray) -> np.ndarray:
    _, h, w, c = f.shape
    flat = f.reshape(h * w, c).astype(np.float64)
    g = np.zeros((c, c))
    for i in range(c):
        for j in range(c):
            g[i, j] = sum(flat[k, i] * flat[k, j] for k in range(h * w))
    return g


def np_style_layer(f: np.ndarray, s: np.ndarray) -> float:
    _, h, w, c = f.shape
    return float(((np_gram(f) - np_gram(s)) ** 2).sum() / (4 * c**2 * (h * w) ** 2))


@pytest.fixture
def maps() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((1, 3, 4, 5), dtype=np.float32), rng.random((1, 3, 4, 5), dtype=np.float32)


def test_gram_matrix_is_unnormalised_sum_over_positions(maps: tuple[np.ndarray, np.ndarray]) -> None:
    f, _ = maps
    g = np.asarray(losses.gram_matrix(f))
    assert g.shape == (5, 5)
    np.testing.assert_allclose(g, np_gram(f), rtol=1e-5)


def test_content_loss_is_half_sum_of_squares(maps: tuple[np.ndarray, np.ndarray]) -> None:
    f, p = maps
    expected = 0.5 * ((f.astype(np.float64) - p) ** 2).sum()
    assert float(losses.content_loss(f, p)) == pytest.approx(expected, rel=1e-5)


def test_style_layer_loss_uses_channels_and_positions(maps: tuple[np.ndarray, np.ndarray]) -> None:
    f, s = maps
    assert float(losses.style_layer_loss(f, s)) == pytest.approx(np_style_layer(f, s), rel=1e-4)
    assert float(losses.style_layer_loss(f, f)) == 0.0


def test_style_loss_weights_layers() -> None:
    rng = np.random.default_rng(1)
    gen = [rng.random((1, 4, 4, 3), dtype=np.float32), rng.random((1, 2, 2, 6), dtype=np.float32)]
    sty = [rng.random((1, 4, 4, 3), dtype=np.float32), rng.random((1, 2, 2, 6), dtype=np.float32)]
    weights = [0.3, 2.0]
    expected = sum(w * np_style_layer(g, s) for g, s, w in zip(gen, sty, weights, strict=True))
    assert float(losses.style_loss(gen, sty, weights)) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError):
        losses.style_loss(gen, sty, [1.0])


def test_total_loss_is_weighted_sum() -> None:
    assert float(losses.total_loss(2.0, 3.0, alpha=5.0, beta=7.0)) == pytest.approx(31.0)


def test_objective_gradient_matches_finite_differences() -> None:
    from engine import StylizeOptions, images
    from engine.transfer import Stylizer
    from tests.support.pictures import content_photo, style_painting

    stylizer = Stylizer(weights="random", seed=0)
    runner = stylizer.runner("lbfgs")
    content, style = content_photo((32, 32)), style_painting((32, 32))
    targets = stylizer.targets(images.to_caffe(content), [style], [1.0], StylizeOptions(tv_weight=1e-3))
    rng = np.random.default_rng(0)
    x = images.to_caffe(content) + rng.normal(0, 10, (1, 32, 32, 3)).astype(np.float32)
    _, grad = runner.loss_and_grad(x, targets)
    direction = rng.normal(0, 1, x.shape).astype(np.float32)
    direction /= np.linalg.norm(direction)
    eps = 1.0
    plus, _ = runner.loss_and_grad(x + eps * direction, targets)
    minus, _ = runner.loss_and_grad(x - eps * direction, targets)
    numeric = (plus - minus) / (2 * eps)
    analytic = float((grad * direction).sum())
    assert analytic == pytest.approx(numeric, rel=0.03)
    assert abs(analytic) > 0


def backend_grad(fn: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    """d fn / d x on the active Keras backend."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return np.asarray(jax.grad(fn)(x))
    import tensorflow as tf

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = fn(xt)
    return np.asarray(tape.gradient(y, xt).numpy())


def test_style_layer_gradient_matches_finite_differences(maps: tuple[np.ndarray, np.ndarray]) -> None:
    """The hand-written Gram gradient (one matmul instead of autodiff's two) is the true derivative."""
    f, s = maps
    target = losses.gram_matrix(s)
    analytic = backend_grad(lambda x: losses.gram_style_layer_loss(x, target), f)
    numeric = np.zeros_like(f, dtype=np.float64)
    eps = 1e-3
    for index in np.ndindex(f.shape):
        step = np.zeros_like(f, dtype=np.float64)
        step[index] = eps
        numeric[index] = (np_style_layer(f + step, s) - np_style_layer(f - step, s)) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=2e-3, atol=1e-7)
