"""Exceptions that carry a message meant for a person, not a traceback."""

from __future__ import annotations


class VwfundError(Exception):
    """Base class: its message is shown to the user as one clear line."""


class ConfigError(VwfundError):
    """A configuration value is missing or wrong; the message names the setting."""


class InputError(VwfundError):
    """Input from a file or a person is malformed; the message names the place."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class CurrencyError(InputError):
    """An unknown currency, or arithmetic across two currencies."""


class StoreError(VwfundError):
    """The store cannot be used as asked (schema too old, locked, wrong mode)."""


class RemoteError(VwfundError):
    """An outside system answered with an error; the message carries its reference, never a secret."""


class LockedError(StoreError):
    """Another run holds the lock on this stream."""
