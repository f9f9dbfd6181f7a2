"""`stylize(...)`: the one entry point that turns a content image and style images into a painting."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from PIL import Image

from engine import backend, images
from engine.errors import CancelledError, OutOfMemoryError
from engine.losses import content_loss, gram_matrix, gram_style_layer_loss
from engine.network import FeatureNet, load_feature_net
from engine.objective import objective
from engine.optim import Optimizer
from engine.types import CancelCheck, Progress, ProgressCallback, StylizeResult

DEFAULT_ITERATIONS = 200
DEFAULT_MAX_SIDE = 512
STYLE_LAYER_WEIGHTS = (0.2, 0.2, 0.2, 0.2, 0.2)  # w_l for conv1_1 … conv5_1
# Strength S sets β = S · BETA_PER_STRENGTH with α = 1/(N·M) of conv4_2, so the balance of content and
# style does not drift with the image size (L_content grows with N·M, each E_l does not).
BETA_PER_STRENGTH = 0.02
DEFAULT_TV_WEIGHT = 0.02  # smoothness, on the same per-feature scale as α (a little TV cleans speckle)
RANGE_WEIGHT = 10.0  # per pixel, on squared overshoot outside 0..255
MIN_STAGE_SIDE = 128
COARSE_SHARE = 2 / 3
OOM_SHRINK = 0.75
MIN_SIDE = 32
STYLE_CACHE_SIZE = 32
TARGET_CHUNK_SECONDS = 0.5  # how often the loop comes back to the host (progress, cancel)
MAX_CHUNK = 50


@dataclass(frozen=True)
class Stage:
    side: int
    iterations: int


def stage_plan(max_side: int, iterations: int, multiscale: bool) -> list[Stage]:
    """Coarse-to-fine schedule: half-size first (4× cheaper per iteration), then full size.

    Most iterations go to the coarse stage, where they cost a quarter as much, so the full-size stage starts
    from an image whose large-scale structure is already stylised and only refines the detail.
    """
    if not multiscale or max_side < 2 * MIN_STAGE_SIDE or iterations < 4:
        return [Stage(max_side, iterations)]
    coarse = round(iterations * COARSE_SHARE)
    return [Stage(max_side // 2, coarse), Stage(max_side, iterations - coarse)]


def _is_cancelled(cancel: CancelCheck | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class Stylizer:
    """Holds the network, the compiled loops and cached style targets; reuse one across requests."""

    def __init__(self, *, weights: str = "imagenet", seed: int = 0) -> None:
        self.net: FeatureNet = load_feature_net(weights, seed=seed)
        self.weights = weights
        self.backend_name = keras.backend.backend()
        self._backend = backend.current()
        self._runners: dict[str, Any] = {}
        self._style_cache: OrderedDict[tuple[Any, ...], list[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def runner(self, optimizer: str, *, fresh: bool = False) -> Any:
        """The compiled loop for `optimizer`, shared across requests; `fresh` traces a new one (benchmarks)."""
        if fresh or optimizer not in self._runners:
            opt = Optimizer(optimizer)  # refuses an unknown name

            def loss(features, image, content, grams, coeffs):
                return objective(
                    features, image, content, grams, coeffs,
                    content_index=self.net.content_index,
                    style_indices=self.net.style_indices,
                    layer_weights=STYLE_LAYER_WEIGHTS,
                )

            self._runners[optimizer] = self._backend.Runner(self.net.model, loss, opt)
        return self._runners[optimizer]

    def stylize(
        self,
        content: images.ImageSource,
        styles: Sequence[images.ImageSource],
        *,
        style_weights: Sequence[float] | None = None,
        strength: float = 1.0,
        max_side: int = DEFAULT_MAX_SIDE,
        iterations: int | None = None,
        optimizer: str = "lbfgs",
        preserve_colors: bool = False,
        style_scale: float = 1.0,
        init: str = "content",
        seed: int = 0,
        tv_weight: float = DEFAULT_TV_WEIGHT,
        multiscale: bool = True,
        progress: ProgressCallback | None = None,
        progress_every: int | None = None,
        cancel: CancelCheck | None = None,
    ) -> StylizeResult:
        """Stylise `content` with `styles`; see the README for what each option does."""
        if not styles:
            raise ValueError("at least one style image is needed")
        weights = _normalise_weights(style_weights, len(styles))
        if strength <= 0:
            raise ValueError("strength must be positive")
        if init not in ("content", "noise"):
            raise ValueError("init must be 'content' or 'noise'")
        iterations = DEFAULT_ITERATIONS if iterations is None else int(iterations)
        # Decode once, at most at the size we will ever need (the style may be scaled up).
        content_img = images.load_image(content, max_side=max_side, what="content image")
        style_side = max(MIN_SIDE, round(max_side * style_scale))
        style_imgs = [images.load_image(s, max_side=style_side, what="style image") for s in styles]
        runner = self.runner(optimizer)

        side, fallbacks = max_side, 0
        started = time.perf_counter()
        while True:
            try:
                with self._lock:
                    image, evaluations, done = self._optimise(
                        runner, content_img, style_imgs, weights,
                        side=side, iterations=iterations, strength=strength, preserve_colors=preserve_colors,
                        style_scale=style_scale, init=init, seed=seed, tv_weight=tv_weight,
                        multiscale=multiscale, progress=progress, progress_every=progress_every,
                        cancel=cancel, started=started,
                    )
                break
            except Exception as exc:
                if not self._backend.is_out_of_memory(exc):
                    raise
                smaller = int(side * OOM_SHRINK)
                if smaller < MIN_SIDE:
                    raise OutOfMemoryError(
                        f"Not enough device memory even at {side}px; try a smaller size."
                    ) from exc
                side, fallbacks = smaller, fallbacks + 1

        if preserve_colors:
            image = images.keep_colors(image, content_img)
        final_content, final_style = self._final_losses(runner, image, content_img, style_imgs, weights,
                                                        preserve_colors, style_scale)
        return StylizeResult(
            image=image,
            iterations=done,
            evaluations=evaluations,
            seconds=time.perf_counter() - started,
            content_loss=final_content,
            style_loss=final_style,
            backend=self.backend_name,
            weights=self.weights,
            optimizer=optimizer,
            size_fallbacks=fallbacks,
            extra={"max_side": side, "architecture": self.net.architecture},
        )

    def _optimise(
        self, runner: Any, content_img: Image.Image, style_imgs: list[Image.Image], weights: list[float], *,
        side: int, iterations: int, strength: float, preserve_colors: bool, style_scale: float, init: str,
        seed: int, tv_weight: float, multiscale: bool, progress: ProgressCallback | None,
        progress_every: int | None, cancel: CancelCheck | None, started: float,
    ) -> tuple[Image.Image, int, int]:
        stages = stage_plan(side, iterations, multiscale)
        if preserve_colors:
            content_img = images.luminance(content_img)
            style_imgs = [images.luminance(s) for s in style_imgs]
        current: Image.Image | None = None
        done = evaluations = 0
        out_size = images.bucket_size(*content_img.size, side)
        for index, stage in enumerate(stages):
            size = images.bucket_size(*content_img.size, stage.side)
            content_arr, targets = self.targets(
                runner, content_img, style_imgs, weights, size=size, strength=strength, tv_weight=tv_weight,
                style_scale=style_scale,
            )
            targets = runner.to_device(targets)
            if current is not None:
                start = images.to_caffe(current.resize(size, Image.Resampling.BICUBIC))
            elif init == "noise":
                rng = np.random.default_rng(seed)
                start = rng.normal(0.0, 20.0, content_arr.shape).astype(np.float32)
            else:
                start = content_arr
            state = runner.init(start)
            stage_done = 0
            chunk = progress_every or 1
            while stage_done < stage.iterations:
                if _is_cancelled(cancel):
                    raise CancelledError("Cancelled.")
                steps = min(chunk, stage.iterations - stage_done)
                t0 = time.perf_counter()
                state, metrics = runner.run(state, steps, *targets)
                took = time.perf_counter() - t0
                stage_done += steps
                done += steps
                evaluations += steps
                if progress_every is None and stage_done > steps:  # adapt after the compiling first call
                    chunk = int(np.clip(TARGET_CHUNK_SECONDS * steps / max(took, 1e-6), 1, MAX_CHUNK))
                elif progress_every is None:
                    chunk = min(MAX_CHUNK, 2 * chunk)
                if not np.all(np.isfinite(metrics)):
                    raise FloatingPointError("the optimisation diverged (non-finite loss)")
                if progress is not None:
                    snapshot = state

                    def preview(snapshot: Any = snapshot, size: tuple[int, int] = out_size) -> Image.Image:
                        image = images.from_caffe(runner.image(snapshot))
                        return image.resize(size, Image.Resampling.BICUBIC) if image.size != size else image

                    progress(Progress(
                        iteration=done, total=iterations, content_loss=float(metrics[1]),
                        style_loss=float(metrics[2]), total_loss=float(metrics[0]),
                        elapsed=time.perf_counter() - started, evaluations=evaluations,
                        scale=index, scales=len(stages), size=size, _preview=preview,
                    ))
            current = images.from_caffe(runner.image(state))
        assert current is not None
        return current, evaluations, done

    def targets(
        self, runner: Any, content_img: Image.Image, style_imgs: list[Image.Image], weights: list[float], *,
        size: tuple[int, int], strength: float, tv_weight: float, style_scale: float,
    ) -> tuple[np.ndarray, tuple[Any, list[np.ndarray], np.ndarray]]:
        """The content image at `size` and the objective's inputs: (P, [A_l], [α, β, tv, range])."""
        content_arr = images.to_caffe(content_img.resize(size, Image.Resampling.LANCZOS))
        feats = runner.features(content_arr)
        content_target = feats[self.net.content_index]
        n_m = float(np.prod(content_target.shape[1:]))
        grams = self._style_targets(runner, style_imgs, weights, max(size), style_scale, feats)
        pixels = float(content_arr.size)
        coeffs = np.array(
            [1.0 / n_m, strength * BETA_PER_STRENGTH, tv_weight / n_m, RANGE_WEIGHT / pixels], np.float32
        )
        return content_arr, (content_target, grams, coeffs)

    def _style_targets(
        self, runner: Any, style_imgs: list[Image.Image], weights: list[float], side: int, style_scale: float,
        content_feats: list[Any],
    ) -> list[np.ndarray]:
        """Blended target Grams A for this stage, scaled to the generated image's M = H·W."""
        blended: list[np.ndarray] | None = None
        for style, weight in zip(style_imgs, weights, strict=True):
            style_side = max(MIN_SIDE // 2, round(side * style_scale))
            key = (_fingerprint(style), style_side, self.net.weights)
            grams = self._style_cache.get(key)
            if grams is None:
                arr = images.to_caffe(images.resize_to_side(style, style_side))
                feats = runner.features(arr)
                grams = [
                    np.asarray(keras.ops.convert_to_numpy(gram_matrix(feats[i])))
                    / float(feats[i].shape[1] * feats[i].shape[2])
                    for i in self.net.style_indices
                ]
                self._style_cache[key] = grams
                while len(self._style_cache) > STYLE_CACHE_SIZE:
                    self._style_cache.popitem(last=False)
            else:
                self._style_cache.move_to_end(key)
            scaled = [weight * g for g in grams]
            blended = scaled if blended is None else [a + b for a, b in zip(blended, scaled, strict=True)]
        assert blended is not None
        # Per-position Grams (cached) times the generated map's positions M give A on the loss's own scale.
        return [
            (g * float(content_feats[i].shape[1] * content_feats[i].shape[2])).astype(np.float32)
            for g, i in zip(blended, self.net.style_indices, strict=True)
        ]

    def _final_losses(
        self, runner: Any, image: Image.Image, content_img: Image.Image, style_imgs: list[Image.Image],
        weights: list[float], preserve_colors: bool, style_scale: float,
    ) -> tuple[float, float]:
        """L_content and L_style of the delivered picture (one forward pass)."""
        if preserve_colors:
            content_img, style_imgs = images.luminance(content_img), [images.luminance(s) for s in style_imgs]
            image = images.luminance(image)
        feats = runner.features(images.to_caffe(image))
        target = runner.features(images.to_caffe(content_img.resize(image.size, Image.Resampling.LANCZOS)))
        grams = self._style_targets(runner, style_imgs, weights, max(image.size), style_scale, feats)
        l_content = float(content_loss(feats[self.net.content_index], target[self.net.content_index]))
        l_style = sum(
            w * float(gram_style_layer_loss(feats[i], a))
            for i, a, w in zip(self.net.style_indices, grams, STYLE_LAYER_WEIGHTS, strict=True)
        )
        return l_content, l_style


def _normalise_weights(style_weights: Sequence[float] | None, count: int) -> list[float]:
    if style_weights is None:
        return [1.0 / count] * count
    if len(style_weights) != count:
        raise ValueError(f"got {len(style_weights)} style weights for {count} style images")
    if any(w < 0 for w in style_weights) or sum(style_weights) <= 0:
        raise ValueError("style weights must be non-negative and not all zero")
    total = float(sum(style_weights))
    return [w / total for w in style_weights]


def _fingerprint(image: Image.Image) -> str:
    return hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest() + f"{image.size}"


_default: dict[str, Stylizer] = {}


def stylize(
    content: images.ImageSource,
    styles: Sequence[images.ImageSource],
    *,
    weights: str = "imagenet",
    **options: Any,
) -> StylizeResult:
    """Stylise with a process-wide `Stylizer` for `weights` (loaded once, reused)."""
    if weights not in _default:
        _default[weights] = Stylizer(weights=weights)
    return _default[weights].stylize(content, styles, **options)
