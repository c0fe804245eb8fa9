"""Secrets never leave the process: every known secret is masked in logs, errors and output."""

from __future__ import annotations

import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "****"
#: Shapes of keys we know, masked even when not registered (e.g. found in an outside system's answer).
_KEY_SHAPES = re.compile(r"\b(?:sk|rk|pk|whsec)_(?:live|test)_[A-Za-z0-9]{6,}|\b[0-9a-f]{32}-us\d{1,3}\b")


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact` masks it everywhere."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Mask every registered secret, and anything shaped like an API key, in ``text``."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return _KEY_SHAPES.sub(MASK, text)


def mask(value: object) -> str:
    """Show a secret as set or not set, never its value (the last 4 characters for keys longer than 16)."""
    if value is None or value == "":
        return "(not set)"
    text = str(value)
    return f"{MASK}{text[-4:]}" if len(text) > 16 and not text[-4:].isspace() else MASK


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with secrets masked."""
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the redacting filter to every handler of ``logger`` (default: the root logger)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
