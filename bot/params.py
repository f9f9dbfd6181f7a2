"""From a user's settings to the engine's job parameters, and the result buttons' variations."""

from __future__ import annotations

from dataclasses import replace

from jobs.models import JobParams, UserSettings
from stylebot.config import Settings

QUALITIES = ("fast", "balanced", "best")
STRENGTHS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SIZES = (256, 384, 512, 768, 1024, 1536, 2048)


def size_choices(settings: Settings) -> list[int]:
    """The sizes offered in /settings (never above settings.max_size)."""
    sizes = [s for s in SIZES if s <= settings.max_size]
    return sizes or [settings.max_size]


def clamp_size(size: int, settings: Settings) -> int:
    return max(64, min(size, settings.max_size))


def job_params(user: UserSettings, settings: Settings) -> JobParams:
    """The parameters for a new job from this user's settings (the worker scales iterations by quality)."""
    return JobParams(
        max_side=clamp_size(user.max_side, settings),
        iterations=settings.default_iterations,
        strength=user.strength,
        preserve_colors=user.preserve_colors,
        quality=user.quality if user.quality in QUALITIES else "balanced",
    )


def step_strength(strength: float, up: bool) -> float:
    """The next strength in STRENGTHS above (or below) the given one."""
    if up:
        bigger = [s for s in STRENGTHS if s > strength + 1e-9]
        return bigger[0] if bigger else STRENGTHS[-1]
    smaller = [s for s in STRENGTHS if s < strength - 1e-9]
    return smaller[-1] if smaller else STRENGTHS[0]


def varied(params: JobParams, action: str) -> JobParams:
    """Params for a result button: `up` (stronger), `down` (weaker), `colors` (toggle keep colours)."""
    if action == "up":
        return replace(params, strength=step_strength(params.strength, True))
    if action == "down":
        return replace(params, strength=step_strength(params.strength, False))
    if action == "colors":
        return replace(params, preserve_colors=not params.preserve_colors)
    return params


def format_strength(strength: float) -> str:
    return f"{strength:g}×"
