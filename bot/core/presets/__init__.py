"""The built-in presets: four public-domain paintings shipped with the package (scaled to at most 1024 px).

They are registered as global presets when the bot starts (STYLEBOT_BUILTIN_PRESETS=0 turns them off);
STYLEBOT_PRESETS_DIR adds to them, and a file there of the same name replaces one.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class BuiltinPreset:
    name: str  # what `/style <name>` takes
    file: str  # in this package
    credit: str  # the painter, the painting and its year, shown by /presets


BUILTIN_PRESETS: tuple[BuiltinPreset, ...] = (
    BuiltinPreset("starry", "starry.jpg", "Vincent van Gogh, The Starry Night (1889)"),
    BuiltinPreset("scream", "scream.jpg", "Edvard Munch, The Scream (1893)"),
    BuiltinPreset("shipwreck", "shipwreck.jpg", "J. M. W. Turner, The Shipwreck (1805)"),
    BuiltinPreset("hat", "hat.jpg", "Henri Matisse, Woman with a Hat (1905)"),
)
CREDITS: dict[str, str] = {preset.name: preset.credit for preset in BUILTIN_PRESETS}


def picture(preset: BuiltinPreset) -> bytes:
    """The painting's JPEG bytes."""
    return resources.files(__package__).joinpath(preset.file).read_bytes()


def path(preset: BuiltinPreset) -> Path:
    """Where the painting's file is (the package is installed as files, never zipped)."""
    return Path(str(resources.files(__package__).joinpath(preset.file)))
