"""From a user's settings to the engine's job parameters, and the result buttons' variations."""

from __future__ import annotations

import secrets
from dataclasses import replace

from jobs.models import DEFAULT_QUALITY, QUALITIES, JobParams, Preferences
from settings import Settings

STRENGTHS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SIZES = (256, 384, 512, 768, 1024, 1536, 2048)
# Stroke sizes (the engine's style_scale): Bigger / Smaller strokes step along these, about ×1.5 apart. Far
# below 0.35 the painting's texture turns to noise; far above 3 the style picture is upscaled into blur.
STROKES = (0.35, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
DEFAULT_STROKES = 1.0
STROKE_CHOICES = {"fine": 0.5, "normal": DEFAULT_STROKES, "broad": 2.0}  # what /settings offers, by name
SEED_LIMIT = 2**31  # a seed fits a signed 32-bit int, which every backend's RNG takes

# The result buttons that paint again, each changing one thing (their name is in the button's data).
STRONGER, WEAKER, BIGGER, SMALLER, COLOURS, AGAIN = "up", "down", "big", "small", "colors", "again"
VARIATIONS = (STRONGER, WEAKER, BIGGER, SMALLER, COLOURS, AGAIN)


def size_choices(settings: Settings) -> list[int]:
    """The sizes offered in /settings (never above settings.max_size)."""
    sizes = [s for s in SIZES if s <= settings.max_size]
    return sizes or [settings.max_size]


def clamp_size(size: int, settings: Settings) -> int:
    return max(64, min(size, settings.max_size))


def user_size(user: Preferences, settings: Settings) -> int:
    """The user's size, or the bot's default for users who never chose one (never above max_size)."""
    return clamp_size(user.max_side if user.max_side is not None else settings.default_size, settings)


def job_params(user: Preferences, settings: Settings) -> JobParams:
    """The parameters for a new job from this user's settings (the worker scales iterations by quality)."""
    return JobParams(
        max_side=user_size(user, settings),
        iterations=settings.default_iterations,
        strength=user.strength,
        preserve_colors=user.preserve_colors,
        quality=user.quality if user.quality in QUALITIES else DEFAULT_QUALITY,
        style_scale=clamp_strokes(user.style_scale),
    )


def _step(ladder: tuple[float, ...], value: float, up: bool) -> float:
    """The next value of the ladder above (or below) the given one; the end of the ladder stays there."""
    if up:
        bigger = [s for s in ladder if s > value + 1e-9]
        return bigger[0] if bigger else ladder[-1]
    smaller = [s for s in ladder if s < value - 1e-9]
    return smaller[-1] if smaller else ladder[0]


def step_strength(strength: float, up: bool) -> float:
    """The next strength in STRENGTHS above (or below) the given one."""
    return _step(STRENGTHS, strength, up)


def step_strokes(scale: float, bigger: bool) -> float:
    """The next stroke size in STROKES above (or below) the given one."""
    return _step(STROKES, scale, bigger)


def clamp_strokes(scale: float) -> float:
    return max(STROKES[0], min(scale, STROKES[-1]))


def new_seed() -> int:
    return secrets.randbelow(SEED_LIMIT - 1) + 1


def varied(params: JobParams, action: str) -> JobParams:
    """Params for a result button: `up` / `down` (stronger, weaker), `big` / `small` (stroke size), `colors`
    (toggle keep colours), `again` (another version: a new seed); anything else: the same params."""
    if action in (STRONGER, WEAKER):
        return replace(params, strength=step_strength(params.strength, action == STRONGER))
    if action in (BIGGER, SMALLER):
        return replace(params, style_scale=step_strokes(params.style_scale, action == BIGGER))
    if action == COLOURS:
        return replace(params, preserve_colors=not params.preserve_colors)
    if action == AGAIN:
        return replace(params, seed=new_seed())
    return params


def format_factor(factor: float) -> str:
    """`2×`, `0.5×`: a strength or a stroke size."""
    return f"{factor:g}×"
