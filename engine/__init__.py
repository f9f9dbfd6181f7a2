"""Neural style transfer (Gatys et al.) on Keras 3. Knows nothing of Telegram.

`from engine import Stylizer` loads Keras lazily, so `engine.errors`, `engine.options` and `engine.types` stay
cheap to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import BadImageError, CancelledError, EngineError, OutOfMemoryError, UnusablePictureError
from engine.options import StylizeOptions
from engine.types import CancelCheck, Progress, ProgressCallback, StylizeResult

if TYPE_CHECKING:
    from engine.transfer import Stylizer, WarmUp

__all__ = [
    "BadImageError",
    "CancelCheck",
    "CancelledError",
    "EngineError",
    "OutOfMemoryError",
    "Progress",
    "ProgressCallback",
    "StylizeOptions",
    "StylizeResult",
    "Stylizer",
    "UnusablePictureError",
    "WarmUp",
]


def __getattr__(name: str) -> Any:
    if name in ("Stylizer", "WarmUp"):
        from engine import transfer as module

        return getattr(module, name)
    raise AttributeError(name)
