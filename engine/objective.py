"""The optimised objective: α·L_content + β·L_style + tv·L_tv, from the network's feature maps."""

from __future__ import annotations

from collections.abc import Sequence

from keras import ops

from engine.backend import Targets, Tensor
from engine.images import CAFFE_MEAN_BGR
from engine.losses import content_loss, gram_style_layer_loss, total_variation_loss

# Caffe space is 0..255 minus the BGR mean, so these are the per-channel pixel bounds.
PIXEL_LOW = -CAFFE_MEAN_BGR
PIXEL_HIGH = 255.0 - CAFFE_MEAN_BGR


def objective(
    features: Sequence[Tensor],
    image: Tensor,
    targets: Targets,
    *,
    content_index: int,
    style_indices: Sequence[int],
    layer_weights: Sequence[float],
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Returns (total, (content_loss, style_loss)); targets.coeffs = [α, β, tv_weight, range_weight].

    The coefficients travel as a tensor so changing the strength never recompiles. The range term is a
    smooth penalty on pixels outside 0..255: without it many drift far out, and the final clip undoes much
    of the work; a smooth term (rather than clipping each step) keeps L-BFGS's curvature pairs honest.
    Feature maps are cast to float32 first: with bfloat16 convolutions the Grams and losses stay float32.
    """
    features = [ops.cast(f, "float32") for f in features]
    coeffs = targets.coeffs
    l_content = content_loss(features[content_index], targets.content)
    terms = [
        w * gram_style_layer_loss(features[i], target)
        for i, target, w in zip(style_indices, targets.grams, layer_weights, strict=True)
    ]
    l_style = ops.sum(ops.stack(terms))
    total = (
        coeffs[0] * l_content
        + coeffs[1] * l_style
        + coeffs[2] * total_variation_loss(image)
        + coeffs[3] * range_penalty(image)
    )
    return total, (l_content, l_style)


def range_penalty(image: Tensor) -> Tensor:
    """Σ of squared overshoot outside 0..255 (in caffe space)."""
    over = ops.relu(image - PIXEL_HIGH) + ops.relu(PIXEL_LOW - image)
    return ops.sum(ops.square(over))
