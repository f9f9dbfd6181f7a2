"""The storage layout: which key each picture lives under.

Everything of one user is under `users/<id>/` (forgetting a user deletes that prefix); a job's preview and
result have fixed keys, so a re-run overwrites them instead of piling up; preset images get fresh keys, so
replacing a preset never rewrites a picture a queued job still names.
"""

from __future__ import annotations

import re
import uuid

PREVIEW_NAME = "preview.jpg"
RESULT_NAME = "result.png"
TIMELAPSE_NAME = "timelapse.gif"


def user_prefix(user_id: int) -> str:
    return f"users/{user_id}/"


def upload_key(user_id: int, file_unique_id: str, suffix: str) -> str:
    """A picture the user sent, named by Telegram's unique id (the same file is fetched once)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", file_unique_id)[:64] or uuid.uuid4().hex
    return f"{user_prefix(user_id)}uploads/{safe}{suffix}"


def job_prefix(user_id: int, job_id: int) -> str:
    return f"{user_prefix(user_id)}jobs/{job_id}/"


def result_key(user_id: int, job_id: int) -> str:
    return job_prefix(user_id, job_id) + RESULT_NAME


def preview_key(user_id: int, job_id: int) -> str:
    return job_prefix(user_id, job_id) + PREVIEW_NAME


def timelapse_key(user_id: int, job_id: int) -> str:
    """The painting's progress as an animation, stored with the result (and deleted with it)."""
    return job_prefix(user_id, job_id) + TIMELAPSE_NAME


def preset_key(chat_id: int | None, name: str, suffix: str) -> str:
    """A new key for a preset image (chat_id None: a global preset)."""
    scope = "global" if chat_id is None else f"chat_{chat_id}"
    stem = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_")[:40] or "preset"
    return f"presets/{scope}/{stem}-{uuid.uuid4().hex[:8]}{suffix or '.jpg'}"
