"""The global presets that come with the deployment: the built-in paintings and STYLEBOT_PRESETS_DIR's pictures,
registered (or refreshed) when a front end starts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from imaging import SUFFIXES

from ..images import BadImage, validate_image
from ..parsing import validate_preset_name
from ..services import Services
from . import BUILTIN_PRESETS
from . import picture as builtin_picture

log = logging.getLogger(__name__)


async def sync_builtin_presets(svc: Services) -> int:
    """Register the built-in paintings (bot/presets/) as global presets, unless STYLEBOT_BUILTIN_PRESETS=0."""
    if not svc.settings.builtin_presets:
        return 0
    added = 0
    for builtin in BUILTIN_PRESETS:
        data = await asyncio.to_thread(builtin_picture, builtin)
        added += await _sync_global_preset(svc, builtin.name, data, Path(builtin.file).suffix)
    return added


async def sync_preset_dir(svc: Services) -> int:
    """Register the pictures in settings.presets_dir as global presets (file stem = name), over the built-in
    ones."""
    directory = svc.settings.presets_dir
    if directory is None:
        return 0
    files = await asyncio.to_thread(_list_images, directory)
    added = 0
    for path in files:
        name = validate_preset_name(path.stem)
        if name is None:
            log.warning("preset file %s skipped: its name can't be a style name", path.name)
            continue
        try:
            data = await asyncio.to_thread(path.read_bytes)
            await svc.decodes.run(validate_image, data)
        except (OSError, BadImage):
            log.warning("preset file %s skipped: not a readable picture", path.name)
            continue
        added += await _sync_global_preset(svc, name, data, path.suffix)
    return added


async def _sync_global_preset(svc: Services, name: str, data: bytes, suffix: str) -> int:
    """Save a global preset that comes with the deployment (added_by 0); 1 when it was added or changed."""
    existing = await svc.presets.get(name, 0)
    # A style an admin added with /addpreset wins over a file of the same name.
    if existing is not None and existing.added_by:
        return 0
    if existing is not None and await svc.read_picture(existing.image_key) == data:
        return 0
    await svc.presets.add(name, data, suffix, chat_id=None, added_by=0)
    return 1


def _list_images(directory: Path) -> list[Path]:
    if not directory.is_dir():
        log.warning("presets directory %s does not exist", directory)
        return []
    return sorted(p.resolve() for p in directory.iterdir() if p.suffix.lower() in SUFFIXES)
