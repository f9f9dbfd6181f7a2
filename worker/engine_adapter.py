"""The engine as a worker sees it: built once per process, asked to paint one job at a time."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Protocol

from engine.options import StylizeOptions
from engine.types import CancelCheck, ProgressCallback, StylizeResult
from jobs.models import JobParams
from settings import Settings

COMPILATION_CACHE = "compilation-cache"  # under the data dir: JAX keeps compiled loops there across restarts


class Engine(Protocol):
    def stylize(
        self,
        content: bytes,
        styles: Sequence[bytes],
        options: StylizeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> StylizeResult: ...


EngineFactory = Callable[[], Engine]


def default_engine_factory(settings: Settings) -> EngineFactory:
    """The setting `engine_factory` ("module:callable") when set (tests, benchmarks), else the real engine."""
    spec = settings.engine_factory.strip()
    if spec:
        module_name, _, attribute = spec.partition(":")
        factory: EngineFactory = getattr(importlib.import_module(module_name), attribute)
        return factory

    def load() -> Engine:
        from engine import Stylizer  # heavy: Keras and TensorFlow load here
        from engine.backend import enable_compilation_cache

        enable_compilation_cache(settings.data_dir / COMPILATION_CACHE)  # before the first loop is compiled
        return Stylizer(weights=settings.weights)

    return load


def common_sizes(side: int) -> list[tuple[int, int]]:
    """The result sizes most requests have at this side: a 4:3 photo either way round, and a square one."""
    short = round(side * 3 / 4)
    return [(side, short), (short, side), (side, side)]


def stylize_options(params: JobParams, precision: str = "float32") -> StylizeOptions:
    """The engine's options for a job's parameters (quality scales the iterations) on this worker."""
    return StylizeOptions(
        precision=precision,  # type: ignore[arg-type]  # checked by StylizeOptions (and at worker start)
        max_side=params.max_side,
        iterations=params.engine_iterations,
        strength=params.strength,
        preserve_colors=params.preserve_colors,
        seed=params.seed,
        style_weights=params.style_weights,
        style_scale=params.style_scale,
    )
