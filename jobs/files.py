"""Where images live under `settings.files_dir`, and writing them atomically (temp file + os.replace)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

PREVIEW_NAME = "preview.jpg"
RESULT_NAME = "result.png"


def user_dir(files_dir: Path, user_id: int) -> Path:
    """Everything one user sent or got back; forgetting the user removes this folder."""
    return files_dir / "users" / str(user_id)


def job_dir(files_dir: Path, user_id: int, job_id: int) -> Path:
    """A job's work dir: its preview and result images."""
    return user_dir(files_dir, user_id) / "jobs" / str(job_id)


def presets_dir(files_dir: Path, chat_id: int | None) -> Path:
    return files_dir / "presets" / ("global" if chat_id is None else f"chat_{chat_id}")


def upload_path(files_dir: Path, user_id: int, suffix: str = ".jpg") -> Path:
    """A fresh path for an incoming photo (content or style)."""
    return user_dir(files_dir, user_id) / "uploads" / f"{uuid.uuid4().hex}{suffix}"


def _write_atomic(path: Path, write: Callable[[BinaryIO], object], make_dirs: bool) -> Path:
    """Write through a temp file in the same folder, then rename: readers see nothing or all of it."""
    if make_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: Path, data: bytes, *, make_dirs: bool = True) -> Path:
    """Write a file atomically."""
    return _write_atomic(path, lambda handle: handle.write(data), make_dirs)


def save_image(image: Image.Image, path: Path, *, make_dirs: bool = True, **save_args: Any) -> Path:
    """Save an image atomically; the format follows the suffix (JPEG images are converted to RGB)."""
    image_format = Image.registered_extensions()[path.suffix.lower()]
    if image_format == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    return _write_atomic(path, lambda handle: image.save(handle, format=image_format, **save_args), make_dirs)


def save_upload(files_dir: Path, user_id: int, data: bytes, suffix: str = ".jpg") -> Path:
    """Store a photo the user sent and return its path (hand it to the job as content or style)."""
    return write_bytes(upload_path(files_dir, user_id, suffix), data)


def copy_file(source: Path, target: Path) -> Path:
    """Copy atomically."""
    return write_bytes(target, source.read_bytes())


def preset_file(files_dir: Path, chat_id: int | None, name: str, suffix: str) -> Path:
    """A new file name for a preset image (unique, so replacing a preset never rewrites a file in use)."""
    stem = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_")[:40] or "preset"
    return presets_dir(files_dir, chat_id) / f"{stem}-{uuid.uuid4().hex[:8]}{suffix or '.jpg'}"


def remove_user_files(files_dir: Path, user_id: int, paths: Iterable[Path]) -> None:
    """Delete a user's folder and any other file of theirs under files_dir (never a preset image)."""
    shutil.rmtree(user_dir(files_dir, user_id), ignore_errors=True)
    root = files_dir.resolve()
    keep = (files_dir / "presets").resolve()
    for path in paths:
        resolved = path.resolve()
        if resolved.is_relative_to(root) and not resolved.is_relative_to(keep):
            resolved.unlink(missing_ok=True)
