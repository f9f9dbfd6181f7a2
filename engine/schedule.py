"""How one stylisation spends its iterations: a pyramid of sizes, coarsest first, and when a stage may stop early.

Pure Python (no Keras), so the plan and the stop rule can be tested and reasoned about on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from engine.options import DEFAULT_LEVEL_RATIO, DEFAULT_LEVELS

MIN_STAGE_SIDE = 128  # no stage paints smaller than this (conv5_1 would see only a few positions)
MIN_PYRAMID_ITERATIONS = 4  # fewer iterations than this paint at full size only


@dataclass(frozen=True)
class Stage:
    side: int
    iterations: int  # the ceiling: the stop rule may end the stage sooner


def stage_plan(
    max_side: int, iterations: int, multiscale: bool, levels: int = DEFAULT_LEVELS, ratio: float = DEFAULT_LEVEL_RATIO,
) -> list[Stage]:
    """Coarse-to-fine schedule: sides max/2^(levels-1) … max/2, max, none below `MIN_STAGE_SIDE`.

    An iteration at half the side costs about a quarter as much, so most iterations go to the coarse levels:
    each finer stage starts from an image whose larger-scale structure is already stylised and only refines
    the detail. Iterations are shared in proportion to 1, ratio, ratio², … (coarsest first) and every stage
    gets at least one; where that is impossible the coarsest levels are dropped.
    """
    if not multiscale or iterations < MIN_PYRAMID_ITERATIONS:
        return [Stage(max_side, iterations)]
    sides = [max_side >> k for k in range(levels) if max_side >> k >= MIN_STAGE_SIDE][::-1]
    while len(sides) > 1:
        weights = [ratio**k for k in range(len(sides))]
        total = sum(weights)
        bounds, running = [0], 0.0
        for weight in weights:
            running += weight
            bounds.append(round(iterations * running / total))
        counts = [b - a for a, b in pairwise(bounds)]
        if min(counts) >= 1:
            return [Stage(side, count) for side, count in zip(sides, counts, strict=True)]
        sides = sides[1:]
    return [Stage(max_side, iterations)]


class StopRule:
    """Ends a stage once its loss has flattened: the best loss fell by less than `tolerance` (a fraction of
    itself) over the last `window` iterations. `tolerance` 0 never stops.

    Fed at the chunk boundaries the loop already has (the host reads the losses there anyway), so the device
    never waits for it; with long chunks (a GPU) it looks back to the last boundary at least `window` iterations
    ago, i.e. over at least `window` iterations.
    """

    def __init__(self, tolerance: float, window: int) -> None:
        self.tolerance = tolerance
        self.window = window
        self._best = float("inf")
        self._history: list[tuple[int, float]] = []  # (iteration, best loss so far) at each boundary

    def flat(self, iteration: int, loss: float) -> bool:
        """Record the loss after `iteration` iterations of this stage; True when the stage should stop."""
        self._best = min(self._best, loss)
        self._history.append((iteration, self._best))
        if self.tolerance <= 0:
            return False
        reference: float | None = None
        keep_from = 0
        for index, (then, best_then) in enumerate(self._history):
            if then > iteration - self.window:
                break
            reference, keep_from = best_then, index
        del self._history[:keep_from]  # older boundaries can never be the reference again
        if reference is None or not reference > 0:
            return False
        return (reference - self._best) / reference < self.tolerance
