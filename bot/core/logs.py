"""Logging setup: quiet httpx, and never let the bot token reach a log line."""

from __future__ import annotations

import logging

REDACTED = "<token>"


class RedactToken(logging.Filter):
    """Replaces the token in a record's message, arguments and traceback (httpx logs URLs that contain it)."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RedactToken) and other.token == self.token

    def __hash__(self) -> int:
        return hash(("RedactToken", self.token))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, REDACTED), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, REDACTED)
        return True


def install_token_filter(token: str) -> None:
    """Add the redacting filter to every handler of the root logger (where all records end up)."""
    if not token:
        return
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    # httpx logs each request URL (with the token) at INFO; those lines are noise anyway.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def configure_logging(token: str, level: str = "INFO") -> None:
    """Plain logging to stderr for `run_bot`, with the token redacted."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_token_filter(token)
