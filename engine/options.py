"""`StylizeOptions`: everything a caller may choose about one stylisation, validated once, with its defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

OptimizerName = Literal["lbfgs", "adam"]
InitName = Literal["content", "noise"]
Precision = Literal["float32", "bfloat16"]  # what the convolutions compute in
PrecisionChoice = Literal["auto", "float32", "bfloat16"]  # "auto": engine.precision picks for the hardware

OPTIMIZERS: tuple[OptimizerName, ...] = get_args(OptimizerName)
INITS: tuple[InitName, ...] = get_args(InitName)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
PRECISION_CHOICES: tuple[PrecisionChoice, ...] = get_args(PrecisionChoice)

DEFAULT_MAX_SIDE = 512
DEFAULT_ITERATIONS = 200
DEFAULT_STRENGTH = 1.0
DEFAULT_TV_WEIGHT = 0.02  # smoothness, on the same per-feature scale as α (a little TV cleans speckle)
DEFAULT_CHUNK_SECONDS = 0.5  # how often the compiled loop comes back to the host (progress, cancel)
DEFAULT_LEVELS = 3  # sizes in the multi-scale pyramid: max/4, max/2, max (fewer where max/4 would be too small)
# Iterations of each finer level per iteration of the level below it (the ceilings; the stop rule may end a stage
# sooner). 0.5 with two levels is the classic plan: two thirds at half size, one third at full size. 2.0 spends the
# most where it shows: 29/57/114 of 200 at a quarter, half and full size (`python -m bench.engine_schedule`: with
# 1.0, 67 full-size iterations left The Scream at 512 px 6 % above the classic plan's loss).
DEFAULT_LEVEL_RATIO = 2.0
# The stop rule: a stage ends once its loss fell by less than this fraction over the last `stop_window`
# iterations (read where the compiled loop returns to the host anyway); 0 turns it off.
DEFAULT_STOP_TOLERANCE = 0.01
DEFAULT_STOP_WINDOW = 10
MIN_SIDE = 32  # the smallest picture worth painting (and the floor of the out-of-memory retries)


@dataclass(frozen=True)
class StylizeOptions:
    """How to paint one picture; see the README's option table. Invalid values raise `ValueError` here."""

    max_side: int = DEFAULT_MAX_SIDE  # longest side of the result in pixels
    iterations: int = DEFAULT_ITERATIONS
    strength: float = DEFAULT_STRENGTH  # β = strength · 0.02 with α = 1/(N·M) of conv4_2
    style_weights: tuple[float, ...] | None = None  # blend of several paintings (normalised); None = equal
    optimizer: OptimizerName = "lbfgs"
    preserve_colors: bool = False
    style_scale: float = 1.0  # size of the brush strokes relative to the picture
    init: InitName = "content"
    seed: int = 0
    tv_weight: float = DEFAULT_TV_WEIGHT
    multiscale: bool = True  # a pyramid of `levels` sizes, coarsest first; False: full size only
    levels: int = DEFAULT_LEVELS  # 2 = half size, then full size
    level_ratio: float = DEFAULT_LEVEL_RATIO  # each finer level's share of the iterations relative to the coarser
    stop_tolerance: float = DEFAULT_STOP_TOLERANCE  # 0: every stage runs all its iterations (`iterations` exactly)
    stop_window: int = DEFAULT_STOP_WINDOW  # iterations over which a stage's relative loss decrease is measured
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    deterministic: bool = False  # bit-identical results for the same inputs, seed and backend (may be slower)
    # "bfloat16": the convolutions only (Grams, losses and optimiser stay float32); "auto": bfloat16 where the hardware
    # runs it natively (a CPU with AMX), else float32 (engine.precision)
    precision: PrecisionChoice = "auto"

    def __post_init__(self) -> None:
        if self.style_weights is not None:
            # Accept any sequence but keep a tuple, so the options stay hashable and immutable.
            object.__setattr__(self, "style_weights", tuple(float(w) for w in self.style_weights))
            if any(not math.isfinite(w) or w < 0 for w in self.style_weights) or sum(self.style_weights) <= 0:
                raise ValueError("style weights must be non-negative and not all zero")
        if self.max_side < MIN_SIDE:
            raise ValueError(f"max_side must be at least {MIN_SIDE} pixels")
        if self.iterations < 1:
            raise ValueError("iterations must be at least 1")
        if not self.strength > 0:
            raise ValueError("strength must be positive")
        if not self.style_scale > 0:
            raise ValueError("style_scale must be positive")
        if not self.tv_weight >= 0:
            raise ValueError("tv_weight must be zero or positive")
        if not self.chunk_seconds > 0:
            raise ValueError("chunk_seconds must be positive")
        if self.levels < 1:
            raise ValueError("levels must be at least 1")
        if not 0 < self.level_ratio <= 16:
            raise ValueError("level_ratio must be above 0 and at most 16")
        if not 0 <= self.stop_tolerance < 1:
            raise ValueError("stop_tolerance must be at least 0 (off) and below 1")
        if self.stop_window < 1:
            raise ValueError("stop_window must be at least 1 iteration")
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("init", self.init, INITS)
        _check_choice("precision", self.precision, PRECISION_CHOICES)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
