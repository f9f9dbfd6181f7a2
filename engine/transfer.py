"""`Stylizer.stylize(...)`: the one entry point that turns a content image and style images into a painting."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
from PIL import Image

from engine import backend, images
from engine.backend import Runner, State, Targets, Tensor
from engine.canvas import Canvas, Size, canvas_for
from engine.errors import CancelledError, OutOfMemoryError, UnusablePictureError
from engine.losses import content_loss, gram_matrix, gram_style_layer_loss
from engine.network import FeatureNet, in_precision, load_feature_net
from engine.objective import objective
from engine.optim import Optimizer
from engine.options import (
    DEFAULT_ITERATIONS,
    DEFAULT_LEVELS,
    MIN_SIDE,
    OptimizerName,
    Precision,
    PrecisionChoice,
    StylizeOptions,
)
from engine.pacing import Pacer
from engine.precision import resolve as resolve_precision
from engine.schedule import MIN_STAGE_SIDE, Stage, StopRule, stage_plan
from engine.types import CancelCheck, Progress, ProgressCallback, StylizeResult

STYLE_LAYER_WEIGHTS = (0.2, 0.2, 0.2, 0.2, 0.2)  # w_l for conv1_1 … conv5_1
# Strength S sets β = S · BETA_PER_STRENGTH with α = 1/(N·M) of conv4_2, so the balance of content and
# style does not drift with the image size (L_content grows with N·M, each E_l does not).
BETA_PER_STRENGTH = 0.02
RANGE_WEIGHT = 10.0  # per pixel, on squared overshoot outside 0..255
SEED_JITTER = 16.0  # how far (0..255 scale) a non-zero seed moves the photo the painting starts from
OOM_SHRINK = 0.75
STYLE_CACHE_SIZE = 32
# A longer, thinner photo would come out a few pixels short (and Telegram refuses photos over 20:1).
MAX_CONTENT_ASPECT = 16.0
UNUSABLE = "This picture can't be used: painting it went numerically wrong (the loss became infinite or NaN)."


__all__ = ["MIN_STAGE_SIDE", "Stage", "StageRun", "Stylizer", "WarmUp", "stage_plan"]


@dataclass(frozen=True)
class StageRun:
    """What one stage of a run did: its side, its ceiling, the iterations it ran, and whether the rule stopped it."""

    side: int
    ceiling: int
    iterations: int
    stopped: bool


@dataclass(frozen=True)
class WarmUp:
    """What `Stylizer.warm_up` did: the canvas shapes it ran, the loops it traced, and how long it took."""

    shapes: tuple[Size, ...]
    traces: int
    seconds: float


@dataclass
class _Tally:
    """Counts for one `stylize` call."""

    iterations: int = 0
    loop_calls: int = 0  # compiled-loop calls, i.e. host round trips
    stages: list[StageRun] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


def _is_cancelled(cancel: CancelCheck | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class Stylizer:
    """Holds the network, the compiled loops and cached style targets; reuse one across requests.

    Safe to share between threads: runs (and warm-up steps) take turns on the device.
    """

    def __init__(self, *, weights: str = "imagenet", seed: int = 0) -> None:
        self._backend = backend.current()
        self.net: FeatureNet = load_feature_net(weights, seed=seed)
        self.weights = weights
        self.backend_name = keras.backend.backend()
        self._nets: dict[Precision, FeatureNet] = {"float32": self.net}
        self._runners: dict[tuple[OptimizerName, Precision], Runner] = {}
        self._pace: dict[tuple[OptimizerName, str, Size], float] = {}  # seconds per iteration, measured
        self._style_cache: OrderedDict[tuple[object, ...], list[np.ndarray]] = OrderedDict()
        self._lock = threading.RLock()
        self._device: str | None = None  # where the loops run, asked once

    def precision(self, choice: PrecisionChoice) -> Precision:
        """What the convolutions compute in for this choice on this backend's device ("auto" picks)."""
        if self._device is None:
            self._device = self._backend.device_name()
        return resolve_precision(choice, self._device, keras.backend.backend())

    def runner(
        self, optimizer: OptimizerName, precision: PrecisionChoice = "float32", *, fresh: bool = False
    ) -> Runner:
        """The compiled loop for `optimizer`, shared across requests; `fresh` traces a new one (benchmarks)."""
        precision = self.precision(precision)
        key = (optimizer, precision)
        with self._lock:
            if fresh or key not in self._runners:
                if precision not in self._nets:
                    self._nets[precision] = in_precision(self.net, precision)
                net = self._nets[precision]
                self._runners[key] = self._backend.new_runner(net.model, self._objective, Optimizer(optimizer))
            return self._runners[key]

    def _objective(
        self, features: Sequence[Tensor], image: Tensor, targets: Targets
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return objective(
            features, image, targets,
            content_index=self.net.content_index, style_indices=self.net.style_indices,
            layer_weights=STYLE_LAYER_WEIGHTS,
        )

    def stylize(
        self,
        content: images.ImageSource,
        styles: Sequence[images.ImageSource],
        options: StylizeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> StylizeResult:
        """Stylise `content` with `styles`; see `StylizeOptions` and the README for what each option does."""
        options = options or StylizeOptions()
        if not styles:
            raise ValueError("at least one style image is needed")
        weights = _normalise_weights(options.style_weights, len(styles))
        if options.deterministic and self._backend.enable_determinism(options.seed):
            with self._lock:
                self._runners.clear()  # loops traced before op determinism was on would keep their kernels
        # Decode once, at most at the size we will ever need (the style may be scaled up).
        content_img = images.load_image(content, max_side=options.max_side, what="content image")
        if max(content_img.size) > MAX_CONTENT_ASPECT * min(content_img.size):
            raise UnusablePictureError(
                f"The content image is too long and thin to paint ({content_img.width}×{content_img.height} at "
                f"{options.max_side} px); crop it to at most {MAX_CONTENT_ASPECT:g}:1."
            )
        style_side = max(MIN_SIDE, round(options.max_side * options.style_scale))
        style_imgs = [images.load_style(s, style_side) for s in styles]
        if options.preserve_colors:
            work_content, work_styles = images.luminance(content_img), [images.luminance(s) for s in style_imgs]
        else:
            work_content, work_styles = content_img, style_imgs

        side, fallbacks, started = options.max_side, 0, time.perf_counter()
        while True:
            tally = _Tally(started=started)  # a retry at a smaller size starts counting again
            try:
                with self._lock:
                    canvas, painted = self._optimise(work_content, work_styles, weights, side, options, tally,
                                                     progress, cancel)
                break
            except UnusablePictureError:
                # bfloat16 picked by "auto" can go numerically wrong where float32 does not: paint it in float32.
                if options.precision != "auto" or self.precision("auto") == "float32":
                    raise
                options = dataclasses.replace(options, precision="float32")
                continue
            except Exception as exc:
                if not self._backend.is_out_of_memory(exc):
                    raise
                smaller = int(side * OOM_SHRINK)
                if smaller < MIN_SIDE:
                    raise OutOfMemoryError(f"Not enough device memory even at {side}px; try a smaller size.") from exc
                side, fallbacks = smaller, fallbacks + 1

        with self._lock:
            final_content, final_style, alpha = self._final_losses(painted, canvas, work_content, work_styles, weights,
                                                            options)
        if not (np.isfinite(final_content) and np.isfinite(final_style)):
            raise UnusablePictureError(UNUSABLE)
        image = canvas.crop(painted)
        if options.preserve_colors:
            image = images.keep_colors(image, content_img)
        return StylizeResult(
            image=image,
            iterations=tally.iterations,
            evaluations=tally.iterations,  # one function evaluation per iteration
            seconds=time.perf_counter() - tally.started,
            content_loss=final_content,
            style_loss=final_style,
            backend=self.backend_name,
            weights=self.weights,
            optimizer=options.optimizer,
            size_fallbacks=fallbacks,
            extra={
                "max_side": side, "architecture": self.net.architecture, "loop_calls": tally.loop_calls,
                "canvas": canvas.size, "precision": self.precision(options.precision),
                "stages": [dataclasses.asdict(s) for s in tally.stages],
                # The objective's weights at the final size, so callers can form α·L_content + β·L_style.
                "alpha": alpha, "beta": options.strength * BETA_PER_STRENGTH,
                "total_loss": alpha * final_content + options.strength * BETA_PER_STRENGTH * final_style,
            },
        )

    def warm_up(
        self,
        sizes: Iterable[Size],
        *,
        optimizers: Sequence[OptimizerName] = ("lbfgs",),
        precision: PrecisionChoice = "float32",
        multiscale: bool = True,
        levels: int = DEFAULT_LEVELS,
    ) -> WarmUp:
        """Trace (TF) or compile (JAX) the loops for results of these (width, height) sizes, every stage of each.

        One iteration per canvas shape and optimiser, on a blank picture. Call it from a background thread at
        start: a request waits at most for the shape being warmed at that moment. On TensorFlow the loop is
        traced once for every shape and each shape's first run sets up its kernels; on JAX each shape compiles.
        """
        started = time.perf_counter()
        shapes: list[Size] = []
        for width, height in sizes:
            for stage in stage_plan(max(width, height), DEFAULT_ITERATIONS, multiscale, levels):
                shape = canvas_for(width, height, stage.side).size
                if shape not in shapes:
                    shapes.append(shape)
        traces = 0
        for name in optimizers:
            runner = self.runner(name, precision)
            for width, height in shapes:
                with self._lock:
                    before = runner.traces
                    blank = np.zeros((1, height, width, 3), np.float32)  # the ImageNet mean colour
                    feats = runner.features(blank)
                    grams = tuple(np.zeros((feats[i].shape[-1],) * 2, np.float32) for i in self.net.style_indices)
                    targets = Targets(feats[self.net.content_index], grams, np.ones(4, np.float32))
                    runner.run(runner.init(blank), 1, runner.to_device(targets))
                    traces += runner.traces - before
        return WarmUp(tuple(shapes), traces, time.perf_counter() - started)

    def _optimise(
        self, content_img: Image.Image, style_imgs: list[Image.Image], weights: list[float], side: int,
        options: StylizeOptions, tally: _Tally, progress: ProgressCallback | None, cancel: CancelCheck | None,
    ) -> tuple[Canvas, Image.Image]:
        """Paint on each stage's canvas in turn; returns the last canvas and the painted canvas picture."""
        runner = self.runner(options.optimizer, options.precision)
        stages = stage_plan(side, options.iterations, options.multiscale, options.levels, options.level_ratio)
        planned = [stage.iterations for stage in stages]  # a stage the rule stops shrinks to what it ran
        output = canvas_for(*content_img.size, side).output
        previous: tuple[Canvas, Image.Image] | None = None
        previous_photo: Image.Image | None = None
        for index, stage in enumerate(stages):
            canvas = canvas_for(*content_img.size, stage.side)
            photo = canvas.place(content_img)
            content_arr = images.to_caffe(photo)
            targets = runner.to_device(self.targets(content_arr, style_imgs, weights, options))
            if previous is not None and previous_photo is not None:
                # The coarser painting, enlarged, plus the photo's detail that the enlargement lacks (the photo
                # minus the photo taken through the same round trip): the finer stage starts sharp, not blurred.
                start = _enlarged(previous[1], previous[0], canvas) + (
                    content_arr - _enlarged(previous_photo, previous[0], canvas))
            elif options.init == "noise":
                start = np.random.default_rng(options.seed).normal(0.0, 20.0, content_arr.shape).astype(np.float32)
            elif options.seed:
                # Another version of the same picture: the photo, lightly jittered by the seed, leads the
                # optimiser to another painting of it (seed 0 starts from the photo itself).
                jitter = np.random.default_rng(options.seed).normal(0.0, SEED_JITTER, content_arr.shape)
                start = content_arr + jitter.astype(np.float32)
            else:
                start = content_arr
            key = (options.optimizer, options.precision, canvas.size)
            pacer = Pacer(options.chunk_seconds, self._pace.get(key))
            state = runner.init(start)
            rule = StopRule(options.stop_tolerance, options.stop_window)
            done, stopped = 0, False
            while done < stage.iterations and not stopped:
                if _is_cancelled(cancel):
                    raise CancelledError("Cancelled.")
                steps = pacer.next_chunk(stage.iterations - done)
                began = time.perf_counter()
                state, metrics = runner.run(state, steps, targets)
                pacer.record(steps, time.perf_counter() - began)
                done += steps
                tally.iterations += steps
                tally.loop_calls += 1
                if not np.all(np.isfinite(metrics)):
                    raise UnusablePictureError(UNUSABLE)
                stopped = done < stage.iterations and rule.flat(done, float(metrics[0]))
                if stopped:
                    planned[index] = done
                if progress is not None:
                    left = self._seconds_left(stages, planned, index, done, pacer, canvas, content_img.size, options)
                    progress(self._progress(runner, state, metrics, canvas, output, tally, sum(planned), left,
                                            index, len(stages)))
            tally.stages.append(StageRun(stage.side, stage.iterations, done, stopped))
            if pacer.seconds_per_iteration is not None:
                self._pace[key] = pacer.seconds_per_iteration
            previous, previous_photo = (canvas, images.from_caffe(runner.image(state))), photo
        assert previous is not None
        return previous

    def _seconds_left(
        self, stages: list[Stage], planned: list[int], index: int, done: int, pacer: Pacer, canvas: Canvas,
        content_size: Size, options: StylizeOptions,
    ) -> float | None:
        """At most how long the rest takes: this stage's and the later stages' ceilings at their measured pace
        (or this stage's, scaled by the pixels, for a size not run yet)."""
        pace = pacer.seconds_per_iteration
        if pace is None:
            return None
        pixels = canvas.size[0] * canvas.size[1]
        left = (planned[index] - done) * pace
        for later, count in zip(stages[index + 1:], planned[index + 1:], strict=True):
            size = canvas_for(*content_size, later.side).size
            known = self._pace.get((options.optimizer, options.precision, size))
            left += count * (known if known is not None else pace * size[0] * size[1] / pixels)
        return left

    def _progress(
        self, runner: Runner, state: State, metrics: np.ndarray, canvas: Canvas, output: Size, tally: _Tally,
        total: int, seconds_left: float | None, stage: int, stages: int,
    ) -> Progress:
        def preview() -> Image.Image:
            picture = canvas.crop(images.from_caffe(runner.image(state)))
            return picture.resize(output, Image.Resampling.BICUBIC) if picture.size != output else picture

        return Progress(
            iteration=tally.iterations, total=total, content_loss=float(metrics[1]),
            style_loss=float(metrics[2]), total_loss=float(metrics[0]),
            elapsed=time.perf_counter() - tally.started, evaluations=tally.iterations,
            scale=stage, scales=stages, size=canvas.size, _preview=preview, seconds_left=seconds_left,
        )

    def targets(
        self, content: np.ndarray, style_imgs: Sequence[Image.Image], weights: Sequence[float], options: StylizeOptions,
    ) -> Targets:
        """The objective's inputs for a (1, H, W, 3) caffe-space content canvas: P, blended A_l, [α, β, tv, range]."""
        runner = self.runner(options.optimizer, options.precision)
        feats = runner.features(content)
        content_target = feats[self.net.content_index]
        n_m = float(np.prod(content_target.shape[1:]))
        grams = self._style_targets(runner, style_imgs, weights, max(content.shape[1:3]), options, feats)
        coeffs = np.array(
            [1.0 / n_m, options.strength * BETA_PER_STRENGTH, options.tv_weight / n_m, RANGE_WEIGHT / content.size],
            np.float32,
        )
        return Targets(content_target, tuple(grams), coeffs)

    def _style_targets(
        self, runner: Runner, style_imgs: Sequence[Image.Image], weights: Sequence[float], side: int,
        options: StylizeOptions, content_feats: list[Tensor],
    ) -> list[np.ndarray]:
        """Blended target Grams A for this stage, scaled to the generated image's M = H·W."""
        blended: list[np.ndarray] | None = None
        for style, weight in zip(style_imgs, weights, strict=True):
            style_side = max(MIN_SIDE // 2, round(side * options.style_scale))
            key = (_fingerprint(style), style_side, self.net.weights, options.precision)
            grams = self._style_cache.get(key)
            if grams is None:
                grams = self._per_position_grams(runner, style, style_side)
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

    def _per_position_grams(self, runner: Runner, style: Image.Image, side: int) -> list[np.ndarray]:
        # Cropped when long and thin, so every VGG level sees rows of it (conv5_1 sees it at 1/16 of its size).
        style = images.fit_style(style, side)
        # On a canvas too: its statistics are the painting's (mirroring adds none), and JAX compiles fewer shapes.
        arr = images.to_caffe(canvas_for(*style.size, side).place(style))
        feats = runner.features(arr)
        return [
            np.asarray(keras.ops.convert_to_numpy(gram_matrix(feats[i]))) / float(feats[i].shape[1] * feats[i].shape[2])
            for i in self.net.style_indices
        ]

    def _final_losses(
        self, painted: Image.Image, canvas: Canvas, content_img: Image.Image, style_imgs: list[Image.Image],
        weights: list[float], options: StylizeOptions,
    ) -> tuple[float, float, float]:
        """L_content and L_style of the painted canvas as delivered (rounded to 8 bits), with float32 features,
        and α = 1/(N·M) of conv4_2 at this size."""
        measure = dataclasses.replace(options, precision="float32")
        runner = self.runner(measure.optimizer, measure.precision)
        if options.preserve_colors:
            painted = images.luminance(painted)
        feats = runner.features(images.to_caffe(painted))
        target = runner.features(images.to_caffe(canvas.place(content_img)))
        grams = self._style_targets(runner, style_imgs, weights, max(canvas.size), measure, feats)
        l_content = float(content_loss(feats[self.net.content_index], target[self.net.content_index]))
        l_style = sum(
            w * float(gram_style_layer_loss(feats[i], a))
            for i, a, w in zip(self.net.style_indices, grams, STYLE_LAYER_WEIGHTS, strict=True)
        )
        alpha = 1.0 / float(np.prod(feats[self.net.content_index].shape[1:]))
        return l_content, l_style, alpha


def _enlarged(picture: Image.Image, was: Canvas, canvas: Canvas) -> np.ndarray:
    """A picture painted on canvas `was`, moved onto the (larger) `canvas`, in caffe space."""
    return images.to_caffe(canvas.place(was.crop(picture), Image.Resampling.BICUBIC))


def _normalise_weights(style_weights: Sequence[float] | None, count: int) -> list[float]:
    if style_weights is None:
        return [1.0 / count] * count
    if len(style_weights) != count:
        raise ValueError(f"got {len(style_weights)} style weights for {count} style images")
    total = float(sum(style_weights))
    return [w / total for w in style_weights]


def _fingerprint(image: Image.Image) -> str:
    return hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest() + f"{image.size}"
