"""The optimised objective: α·L_content + β·L_style + tv·L_tv, from the network's feature maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keras import ops

from engine.images import CAFFE_MEAN_BGR
from engine.losses import content_loss, gram_style_layer_loss, total_variation_loss

Tensor = Any

# Caffe space is 0..255 minus the BGR mean, so these are the per-channel pixel bounds.
PIXEL_LOW = -CAFFE_MEAN_BGR
PIXEL_HIGH = 255.0 - CAFFE_MEAN_BGR


def objective(
    features: Sequence[Tensor],
    image: Tensor,
    content_target: Tensor,
    style_grams: Sequence[Tensor],
    coeffs: Tensor,
    *,
    content_index: int,
    style_indices: Sequence[int],
    layer_weights: Sequence[float],
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Returns (total, (content_loss, style_loss)); coeffs = [α, β, tv_weight, range_weight] as a tensor.

    The coefficients travel as a tensor so changing the strength never recompiles. The range term is a
    smooth penalty on pixels outside 0..255: without it many drift far out, and the final clip undoes much
    of the work; a smooth term (rather than clipping each step) keeps L-BFGS's curvature pairs honest.
    """
    l_content = content_loss(features[content_index], content_target)
    terms = [
        w * gram_style_layer_loss(features[i], target)
        for i, target, w in zip(style_indices, style_grams, layer_weights, strict=True)
    ]
    l_style = ops.sum(ops.stack(terms))
    over = ops.relu(image - PIXEL_HIGH) + ops.relu(PIXEL_LOW - image)
    total = (
        coeffs[0] * l_content
        + coeffs[1] * l_style
        + coeffs[2] * total_variation_loss(image)
        + coeffs[3] * ops.sum(ops.square(over))
    )
    return total, (l_content, l_style)
