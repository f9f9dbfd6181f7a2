"""Progress bar, durations and ETA text for status messages."""

from __future__ import annotations

import math

BAR_FULL = "▰"
BAR_EMPTY = "▱"


def progress_bar(fraction: float, width: int = 12) -> str:
    """A bar such as `▰▰▰▱▱▱▱▱▱▱▱▱`; the fraction is clamped to 0..1."""
    if math.isnan(fraction):
        fraction = 0.0
    fraction = min(1.0, max(0.0, fraction))
    filled = int(fraction * width + 1e-9)
    return BAR_FULL * filled + BAR_EMPTY * (width - filled)


def percent(fraction: float) -> str:
    """`37%` (never 100% before the end: 99.6% shows as 99%)."""
    fraction = min(1.0, max(0.0, fraction))
    return f"{math.floor(fraction * 100)}%"


def format_duration(seconds: float) -> str:
    """A short human duration: `8 s`, `2 min 5 s`, `1 h 4 min`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def eta_text(eta_s: float | None) -> str:
    """`about 2 min left`, `almost done`, or `estimating…` when nothing is known yet."""
    if eta_s is None or math.isnan(eta_s) or eta_s < 0:
        return "estimating…"
    if eta_s < 5:
        return "almost done"
    if eta_s < 60:
        # Round to 5 s so the text does not flicker on every edit.
        return f"about {max(5, round(eta_s / 5) * 5)} s left"
    return f"about {format_duration(eta_s)} left"
