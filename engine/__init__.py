"""Neural style transfer (Gatys et al.) on Keras 3. Knows nothing of Telegram.

`from engine import stylize, Stylizer` loads Keras lazily, so `engine.errors` and `engine.types` stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import BadImageError, CancelledError, EngineError, OutOfMemoryError
from engine.types import Progress, StylizeResult

if TYPE_CHECKING:
    from engine.transfer import Stylizer, stylize

__all__ = [
    "BadImageError",
    "CancelledError",
    "EngineError",
    "OutOfMemoryError",
    "Progress",
    "StylizeResult",
    "Stylizer",
    "stylize",
]


def __getattr__(name: str) -> Any:
    if name in ("Stylizer", "stylize"):
        from engine import transfer as module

        return getattr(module, name)
    raise AttributeError(name)
