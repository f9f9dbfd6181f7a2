"""Texts the bot sends: result captions, settings summaries, status and failure messages (HTML)."""

from __future__ import annotations

from html import escape

from jobs.models import ErrorCode, JobParams, JobState, JobStatus, UserSettings
from stylebot.config import Settings

from .params import format_strength
from .progress import eta_text, format_duration, percent, progress_bar


def style_label(style_name: str) -> str:
    """How a style is named in captions: the preset name, or `your style picture`."""
    return escape(style_name.replace("_", " "), quote=False) if style_name else "your style picture"


def mention(user_id: int, name: str) -> str:
    """An HTML mention of a user (works without a username)."""
    return f'<a href="tg://user?id={user_id}">{escape(name or "you", quote=False)}</a>'


def params_line(params: JobParams) -> str:
    """`strength 2× · 512 px · keep colours · quality fast`."""
    parts = [f"strength {format_strength(params.strength)}", f"{params.max_side} px"]
    parts.append("keep colours" if params.preserve_colors else "new colours")
    parts.append(f"quality {params.quality}")
    return " · ".join(parts)


def result_caption(job: JobStatus) -> str:
    """The caption of a finished picture: style, settings used, size, iterations, time, requester."""
    size = f"{job.result_width}×{job.result_height}" if job.result_width else f"{job.params.max_side} px"
    iterations = job.total_iterations or job.params.iterations
    lines = [
        f"🎨 <b>{style_label(job.style_name)}</b>",
        params_line(job.params),
        f"{size} · {iterations} iterations · {format_duration(job.seconds)}",
    ]
    if job.chat_type != "private":
        lines.append(f"for {mention(job.user_id, job.user_name)}")
    return "\n".join(lines)


def settings_text(user: UserSettings, settings: Settings) -> str:
    """The /settings message."""
    return (
        "<b>Your settings</b>\n"
        f"Strength: {format_strength(user.strength)} (how much of the style to apply)\n"
        f"Size: {min(user.max_side, settings.max_size)} px (longest side)\n"
        f"Keep colours: {'yes' if user.preserve_colors else 'no'}\n"
        f"Quality: {escape(user.quality, quote=False)} (fast is quicker, best takes longer)"
    )


def queued_text(position: int | None, style_name: str) -> str:
    """The first status text, right after a request is accepted (position None: not known yet)."""
    if position is None:
        return f"⏳ Got it! Painting with {style_label(style_name)} soon."
    return f"⏳ Waiting to paint with {style_label(style_name)} — {_where(position)}."


def _where(position: int) -> str:
    if position <= 0:
        return "starting now"
    return "next in line" if position == 1 else f"position {position} in the queue"


NO_PAINTER = "\n⚠️ No painter is running right now: your request is saved and starts as soon as one is back."


def status_text(job: JobStatus, *, painters_online: bool = True) -> str:
    """The status message for a queued or running job (saying so when no worker is alive to take it)."""
    if job.state == JobState.QUEUED:
        return queued_text(job.position, job.style_name) + ("" if painters_online else NO_PAINTER)
    if job.state == JobState.RUNNING:
        detail = ""
        if job.total_iterations:
            detail = f" · step {job.iteration}/{job.total_iterations}"
        return (
            f"🖌 Painting with {style_label(job.style_name)}…\n"
            f"{progress_bar(job.progress)} {percent(job.progress)}\n"
            f"{eta_text(job.eta_s)}{detail}"
        )
    return final_status_text(job)


FAILURE_TEXTS = {
    ErrorCode.BAD_IMAGE: "I couldn't read one of the pictures. Please send another JPEG or PNG.",
    ErrorCode.OUT_OF_MEMORY: "That picture was too big for me. Try a smaller size in /settings.",
    ErrorCode.TIME_LIMIT: "That took too long. Try quality “fast” or a smaller size in /settings.",
    ErrorCode.WORKER_LOST: "Something went wrong on my side. Please try again (/history → Redo).",
    ErrorCode.INTERNAL: "Something went wrong on my side. Please try again (/history → Redo).",
}


def final_status_text(job: JobStatus) -> str:
    """The status message once the job has ended."""
    if job.state in (JobState.DONE, JobState.DELIVERED):
        return f"✅ Done in {format_duration(job.seconds)}."
    if job.state == JobState.CANCELLED:
        return "⏹ Cancelled."
    text = FAILURE_TEXTS.get(job.error_code or "", FAILURE_TEXTS[ErrorCode.INTERNAL])  # type: ignore[call-overload]
    return f"❌ {text}"


def history_line(job: JobStatus) -> str:
    """One /history line."""
    ended = job.outcome if job.state == JobState.DELIVERED and job.outcome else job.state
    state = {
        JobState.DELIVERED: "done",
        JobState.DONE: "done",
        JobState.QUEUED: "waiting",
        JobState.RUNNING: "painting",
        JobState.FAILED: "failed",
        JobState.CANCELLED: "cancelled",
    }.get(ended, str(ended))
    took = f" · {format_duration(job.seconds)}" if job.seconds else ""
    return f"#{job.id} {style_label(job.style_name)} · {state}{took} · {params_line(job.params)}"
