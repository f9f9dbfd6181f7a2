"""The losses of Gatys et al., exactly as in the design notes.

Feature maps are shaped (1, H, W, C); every function takes numpy arrays or backend tensors and returns a
backend scalar (or matrix) that `float()` accepts. They are written with `keras.ops` so the same code runs
eagerly, inside `tf.function` and inside `jax.jit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from keras import ops

Tensor = Any


def gram_matrix(features: Tensor) -> Tensor:
    """G_ij = Σ_k F_ik F_jk over the H·W positions k (no normalisation); returns (C, C)."""
    features = ops.convert_to_tensor(features, dtype="float32")
    channels = ops.shape(features)[-1]
    flat = ops.reshape(features, (-1, channels))  # (M, C)
    return ops.matmul(ops.transpose(flat), flat)


def content_loss(generated: Tensor, target: Tensor) -> Tensor:
    """L_content = ½ Σ (F − P)²."""
    diff = ops.convert_to_tensor(generated, dtype="float32") - ops.convert_to_tensor(target, dtype="float32")
    return 0.5 * ops.sum(ops.square(diff))


def style_layer_loss(generated: Tensor, style: Tensor) -> Tensor:
    """E_l = 1/(4 N² M²) Σ (G − A)², N = channels and M = H·W of the generated features."""
    return gram_style_layer_loss(generated, gram_matrix(style))


def gram_style_layer_loss(generated: Tensor, target_gram: Tensor) -> Tensor:
    """E_l from the generated feature maps and a precomputed target Gram A (what the optimiser uses)."""
    generated = ops.convert_to_tensor(generated, dtype="float32")
    channels = generated.shape[-1]
    flat = ops.reshape(generated, (-1, channels))
    n = float(channels)
    m = ops.cast(ops.shape(flat)[0], "float32")  # read when run, so one traced TF loop serves every canvas size
    return _gram_distance(flat, ops.convert_to_tensor(target_gram, dtype="float32")) / (4.0 * n * n * m * m)


GramGradient = Callable[..., tuple[Tensor, Tensor]]


def _gram_distance_and_gradient(flat: Tensor, target_gram: Tensor) -> tuple[Tensor, GramGradient]:
    """Σ (FᵀF − A)² for F of shape (M, C) and a symmetric A, with its gradient.

    Written by hand because the gradient, 4·F(G − A), is one matmul where autodiff of FᵀF spends two;
    the Gram matrices are most of what the losses add to the network's cost.
    """
    diff = ops.matmul(ops.transpose(flat), flat) - target_gram

    def grad(*args: Tensor, upstream: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if upstream is None:
            (upstream,) = args
        return 4.0 * upstream * ops.matmul(flat, diff), ops.zeros_like(target_gram)

    return ops.sum(ops.square(diff)), grad


_gram_distance: Callable[[Tensor, Tensor], Tensor] = ops.custom_gradient(_gram_distance_and_gradient)


def style_loss(
    generated_layers: Sequence[Tensor], style_layers: Sequence[Tensor], layer_weights: Sequence[float]
) -> Tensor:
    """L_style = Σ_l w_l · E_l over the style layers."""
    if not (len(generated_layers) == len(style_layers) == len(layer_weights)):
        raise ValueError("style_loss needs one style map and one weight per generated layer")
    terms = [
        w * style_layer_loss(g, s)
        for g, s, w in zip(generated_layers, style_layers, layer_weights, strict=True)
    ]
    return ops.sum(ops.stack(terms))


def total_loss(content: Tensor, style: Tensor, alpha: float, beta: float) -> Tensor:
    """L_total = α·L_content + β·L_style."""
    return alpha * ops.convert_to_tensor(content, dtype="float32") + beta * ops.convert_to_tensor(
        style, dtype="float32"
    )


def total_variation_loss(image: Tensor) -> Tensor:
    """Σ of squared differences between neighbouring pixels (smoothness prior, added by the optimiser)."""
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return ops.sum(ops.square(dy)) + ops.sum(ops.square(dx))
