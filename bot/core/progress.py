"""Progress bar, durations and ETA text for status messages."""

from __future__ import annotations

import math

from .i18n import ENGLISH, Translator

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


def format_duration(seconds: float, t: Translator = ENGLISH) -> str:
    """A short human duration: `8 s`, `2 min 5 s`, `1 h 4 min`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return t.gettext("{seconds} s", seconds=seconds)
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        if secs and minutes < 10:
            return t.gettext("{minutes} min {seconds} s", minutes=minutes, seconds=secs)
        return t.gettext("{minutes} min", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if minutes:
        return t.gettext("{hours} h {minutes} min", hours=hours, minutes=minutes)
    return t.gettext("{hours} h", hours=hours)


def eta_text(eta_s: float | None, t: Translator = ENGLISH) -> str:
    """`about 2 min left`, `almost done`, or `estimating…` when nothing is known yet."""
    if eta_s is None or math.isnan(eta_s) or eta_s < 0:
        return t.gettext("estimating…")
    if eta_s < 5:
        return t.gettext("almost done")
    if eta_s < 60:
        eta_s = max(5, round(eta_s / 5) * 5)  # rounded to 5 s, so the text does not flicker on every edit
    return t.gettext("about {time} left", time=format_duration(eta_s, t))
