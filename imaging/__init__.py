"""Opening untrusted pictures: the one decoder the bot and the engine share (Pillow and numpy only).

`decode(bytes or path)` gives an upright RGB picture or raises `BadPicture` with a stable `reason`; nothing else
in the product opens picture bytes or files. It imports nothing of the product (an import-linter contract).
"""

from __future__ import annotations

from imaging.decode import (
    FORMATS,
    MAX_PIXELS,
    PICTURE_FORMATS,
    SUFFIX_BY_MIME_TYPE,
    SUFFIXES,
    BadPicture,
    Picture,
    Reason,
    decode,
    upright_rgb,
)

__all__ = [
    "FORMATS",
    "MAX_PIXELS",
    "PICTURE_FORMATS",
    "SUFFIXES",
    "SUFFIX_BY_MIME_TYPE",
    "BadPicture",
    "Picture",
    "Reason",
    "decode",
    "upright_rgb",
]
