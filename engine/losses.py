"""The losses of Gatys et al., exactly as in the design notes.

Feature maps are shaped (1, H, W, C); every function takes numpy arrays or backend tensors and returns a
backend scalar (or matrix) that `float()` accepts. They are written with `keras.ops` so the same code runs
eagerly, inside `tf.function` and inside `jax.jit`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    generated = ops.convert_to_tensor(generated, dtype="float32")
    return gram_style_layer_loss(gram_matrix(generated), gram_matrix(style), generated.shape)


def gram_style_layer_loss(gram: Tensor, target_gram: Tensor, feature_shape: Sequence[int]) -> Tensor:
    """E_l from a Gram matrix and a precomputed target Gram A (what the optimiser uses every step)."""
    _, height, width, channels = feature_shape
    n = float(channels)
    m = float(height * width)
    return ops.sum(ops.square(gram - ops.convert_to_tensor(target_gram, dtype="float32"))) / (4.0 * n * n * m * m)


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
