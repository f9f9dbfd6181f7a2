"""The one error type the engine raises for anything a user or operator should read."""

from __future__ import annotations


class EngineError(Exception):
    """A failure with a stable `code` and a `message` fit for a user."""

    code = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadImageError(EngineError):
    code = "bad_image"


class OutOfMemoryError(EngineError):
    code = "out_of_memory"


class CancelledError(EngineError):
    code = "cancelled"


class WeightsUnavailableError(EngineError):
    code = "weights_unavailable"
