"""Data the engine hands back: progress reports and the finished result."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

CancelCheck = Callable[[], bool] | threading.Event


@dataclass(frozen=True)
class Progress:
    """One progress report: where the run is, its losses, and a preview on request."""

    iteration: int  # iterations run so far
    total: int  # iterations the run will take as far as known: the ceiling, less what stopped stages skipped
    content_loss: float
    style_loss: float
    total_loss: float
    elapsed: float
    evaluations: int
    scale: int  # index of the current multi-scale stage, 0-based
    scales: int
    size: tuple[int, int]  # (width, height) of the current stage
    _preview: Callable[[], Image.Image] = field(repr=False, compare=False, default=lambda: Image.new("RGB", (1, 1)))
    # The engine's estimate of the time left: the remaining ceilings at each size's measured pace (an upper
    # bound when the stop rule may end stages early). None: estimate from the iterations instead.
    seconds_left: float | None = None

    @property
    def eta(self) -> float | None:
        if self.seconds_left is not None:
            return self.seconds_left
        if self.iteration <= 0:
            return None
        return self.elapsed * (self.total - self.iteration) / self.iteration

    def preview(self) -> Image.Image:
        """The current image, computed only when asked for; call it during the callback (JAX reuses the buffers)."""
        return self._preview()


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class StylizeResult:
    image: Image.Image
    iterations: int
    evaluations: int
    seconds: float
    content_loss: float
    style_loss: float
    backend: str
    weights: str
    optimizer: str
    size_fallbacks: int = 0  # times the size was reduced after running out of device memory
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height
