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
    """A picture that can't be decoded; `reason` is `imaging.BadPicture`'s (missing, empty, unsupported, damaged,
    too_large, too_small) when the decoder refused it."""

    code = "bad_image"

    def __init__(self, message: str, *, code: str | None = None, reason: str | None = None) -> None:
        super().__init__(message, code=code)
        self.reason = reason


class UnusablePictureError(EngineError):
    """A picture that decodes but can't be painted: the loss became NaN or infinite, or it is far too long and
    thin."""

    code = "unusable_picture"


class OutOfMemoryError(EngineError):
    code = "out_of_memory"


class CancelledError(EngineError):
    code = "cancelled"


class WeightsUnavailableError(EngineError):
    code = "weights_unavailable"
