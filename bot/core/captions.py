"""Texts the bot sends: result captions, settings summaries, status and failure messages (HTML).

The texts about a job are in the language of whoever asked for it (`JobStatus.language`), wherever they are made."""

from __future__ import annotations

import time
from html import escape
from pathlib import PurePosixPath

from jobs.models import ErrorCode, JobParams, JobState, JobStatus, Preferences
from settings import Settings

from .i18n import ENGLISH, N_, Text, Translator, translator
from .params import DEFAULT_STROKES, STROKE_CHOICES, format_factor, user_size
from .progress import eta_text, format_duration, percent, progress_bar

QUALITY_NAMES = {
    # TRANSLATORS: the quality settings (quicker or better pictures), in /settings and under results.
    "fast": N_("fast"),
    "balanced": N_("balanced"),
    "best": N_("best"),
}


def quality_name(quality: str, t: Translator = ENGLISH) -> str:
    return escape(t(QUALITY_NAMES.get(quality, quality)), quote=False)


STROKE_NAMES = {
    # TRANSLATORS: the brush stroke sizes offered in /settings (small, normal or big strokes).
    "fine": N_("fine"),
    "normal": N_("normal"),
    "broad": N_("broad"),
}


def strokes_name(scale: float, t: Translator = ENGLISH) -> str:
    """The /settings name of a stroke size (`fine`), or its factor (`1.5×`) when it is none of the choices."""
    name = next((name for name, value in STROKE_CHOICES.items() if abs(value - scale) < 1e-9), None)
    return t(STROKE_NAMES[name]) if name else format_factor(scale)


def style_label(style_name: str, t: Translator = ENGLISH) -> str:
    """How a style is named in captions: the preset name, or `your style picture`."""
    if style_name:
        return escape(style_name.replace("_", " "), quote=False)
    return t.gettext("your style picture")


def mention(user_id: int, name: str, t: Translator = ENGLISH) -> str:
    """An HTML mention of a user (works without a username)."""
    shown = escape(name, quote=False) if name else t.gettext("you")
    return f'<a href="tg://user?id={user_id}">{shown}</a>'


def params_line(params: JobParams, t: Translator = ENGLISH) -> str:
    """`strength 2× · strokes 1.5× · 512 px · keep colours · quality fast` (strokes only when not the default)."""
    parts = [t.gettext("strength {strength}", strength=format_factor(params.strength))]
    if abs(params.style_scale - DEFAULT_STROKES) > 1e-9:
        # TRANSLATORS: the size of the brush strokes, e.g. "strokes 1.5×" (bigger than usual).
        parts.append(t.gettext("strokes {scale}", scale=format_factor(params.style_scale)))
    parts += [
        t.gettext("{size} px", size=params.max_side),
        t.gettext("keep colours") if params.preserve_colors else t.gettext("new colours"),
        t.gettext("quality {quality}", quality=quality_name(params.quality, t)),
    ]
    return " · ".join(parts)


def result_caption(job: JobStatus) -> str:
    """The caption of a finished picture: style, settings used, size, iterations, time, requester."""
    t = translator(job.language)
    size = (
        f"{job.result_width}×{job.result_height}"
        if job.result_width
        else t.gettext("{size} px", size=job.params.max_side)
    )
    lines = [
        f"🎨 <b>{style_label(job.style_name, t)}</b>",
        params_line(job.params, t),
        t.ngettext(
            "{size} · {n} iteration · {time}",
            "{size} · {n} iterations · {time}",
            job.total_iterations or job.params.iterations,
            size=size,
            time=format_duration(job.seconds, t),
        ),
    ]
    if job.chat_type != "private":
        lines.append(t.gettext("for {user}", user=mention(job.user_id, job.user_name, t)))
    return "\n".join(lines)


def result_filename(job: JobStatus) -> str:
    """The file name a full-size result is sent under."""
    suffix = PurePosixPath(job.result_key or "").suffix or ".png"
    return f"stylebot-{job.id}{suffix}"


def colours_label(preserve_colors: bool, t: Translator = ENGLISH) -> str:
    return t.gettext("Keep colours: yes") if preserve_colors else t.gettext("Keep colours: no")


def settings_text(user: Preferences, settings: Settings, t: Translator = ENGLISH) -> str:
    """The /settings message."""
    return "\n".join(
        [
            t.gettext("<b>Your settings</b>"),
            t.gettext("Strength: {strength} (how much of the style to apply)", strength=format_factor(user.strength)),
            t.gettext("Size: {size} px (longest side)", size=user_size(user, settings)),
            t.gettext("Strokes: {strokes} (the size of the brush strokes)", strokes=strokes_name(user.style_scale, t)),
            colours_label(user.preserve_colors, t),
            # TRANSLATORS: "fast" and "best" are the names of two quality settings.
            t.gettext("Quality: {quality} (fast is quicker, best takes longer)", quality=quality_name(user.quality, t)),
            *([sketch_only_label(user.sketch_only, t)] if settings.sketch else []),
        ]
    )


def sketch_only_label(sketch_only: bool, t: Translator = ENGLISH) -> str:
    if sketch_only:
        return t.gettext("✏️ Sketch only: on (an instant sketch, no painting)")
    return t.gettext("✏️ Sketch only: off (a sketch, then the painting)")


def queued_text(position: int | None, style_name: str, language: str = "") -> str:
    """The first status text, right after a request is accepted (position None: not known yet)."""
    t = translator(language)
    style = style_label(style_name, t)
    if position is None:
        return t.gettext("⏳ Got it! Painting with {style} soon.", style=style)
    if position <= 0:
        return t.gettext("⏳ Waiting to paint with {style} — starting now.", style=style)
    if position == 1:
        return t.gettext("⏳ Waiting to paint with {style} — next in line.", style=style)
    return t.gettext(
        "⏳ Waiting to paint with {style} — position {position} in the queue.", style=style, position=position
    )


NO_PAINTER = N_("⚠️ No painter is running right now: your request is saved and starts as soon as one is back.")


def status_text(job: JobStatus, *, painters_online: bool = True, now: float | None = None) -> str:
    """The status message for a queued or running job (saying so when no worker is alive to take it)."""
    t = translator(job.language)
    wait_s = (job.not_before or 0.0) - (time.time() if now is None else now)
    if job.state == JobState.QUEUED and job.error_code == ErrorCode.STORAGE_UNAVAILABLE:
        if wait_s < 60:
            return t.gettext("⏳ I can't reach my picture storage right now. I'll try again soon; nothing is lost.")
        return t.gettext(
            "⏳ I can't reach my picture storage right now. I'll try again in about {time}; nothing is lost.",
            time=format_duration(wait_s, t),
        )
    if job.state == JobState.QUEUED and job.error_code == ErrorCode.STORAGE_FULL:
        if wait_s < 60:
            return t.gettext(
                "⏳ Your picture is painted, but I couldn't save it (my storage is full). "
                "I'll paint it again soon; nothing is lost."
            )
        return t.gettext(
            "⏳ Your picture is painted, but I couldn't save it (my storage is full). "
            "I'll paint it again in about {time}; nothing is lost.",
            time=format_duration(wait_s, t),
        )
    if job.state == JobState.QUEUED:
        text = queued_text(job.position, job.style_name, job.language)
        return text if painters_online else f"{text}\n{t(NO_PAINTER)}"
    if job.state == JobState.RUNNING:
        detail = ""
        if job.total_iterations:
            detail = " · " + t.gettext("step {iteration}/{total}", iteration=job.iteration, total=job.total_iterations)
        return (
            t.gettext("🖌 Painting with {style}…", style=style_label(job.style_name, t))
            + f"\n{progress_bar(job.progress)} {percent(job.progress)}\n"
            + f"{eta_text(job.eta_s, t)}{detail}"
        )
    return final_status_text(job)


FAILURE_TEXTS: dict[str, Text] = {
    ErrorCode.BAD_IMAGE: N_("I couldn't read one of the pictures. Please send another JPEG or PNG."),
    ErrorCode.UNUSABLE_PICTURE: N_(
        "I can't paint with one of these pictures: it is far too long and thin, or something in it makes the "
        "painting fail. Please try another picture."
    ),
    ErrorCode.OUT_OF_MEMORY: N_("That picture was too big for me. Try a smaller size in /settings."),
    ErrorCode.TIME_LIMIT: N_("That took too long. Try quality “fast” or a smaller size in /settings."),
    ErrorCode.WORKER_LOST: N_("Something went wrong on my side. Please try again (/history → Redo)."),
    ErrorCode.INTERNAL: N_("Something went wrong on my side. Please try again (/history → Redo)."),
}


def final_status_text(job: JobStatus) -> str:
    """The status message once the job has ended."""
    t = translator(job.language)
    if job.state in (JobState.DONE, JobState.DELIVERED):
        return t.gettext("✅ Done in {time}.", time=format_duration(job.seconds, t))
    if job.state == JobState.CANCELLED:
        return t.gettext("⏹ Cancelled.")
    return "❌ " + t(FAILURE_TEXTS.get(job.error_code or "", FAILURE_TEXTS[ErrorCode.INTERNAL]))


HISTORY_STATES = {
    # TRANSLATORS: what became of a picture, in /history.
    JobState.DELIVERED: N_("done"),
    JobState.DONE: N_("done"),
    JobState.QUEUED: N_("waiting"),
    JobState.RUNNING: N_("painting"),
    JobState.FAILED: N_("failed"),
    JobState.CANCELLED: N_("cancelled"),
}


def history_line(job: JobStatus, t: Translator | None = None) -> str:
    """One /history line (in the reader's language; by default the one the job was asked in)."""
    t = t or translator(job.language)
    ended = job.outcome if job.state == JobState.DELIVERED and job.outcome else job.state
    state = t(HISTORY_STATES.get(ended, str(ended)))
    took = f" · {format_duration(job.seconds, t)}" if job.seconds else ""
    return f"#{job.id} {style_label(job.style_name, t)} · {state}{took} · {params_line(job.params, t)}"
