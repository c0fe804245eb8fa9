"""Email normalisation and hashing: how contacts are recognised across systems."""

from __future__ import annotations

import hashlib
import re

from vwfund.errors import InputError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value: str | None) -> str | None:
    """Trim and lowercase an email; None or blank gives None; a malformed one raises InputError."""
    if value is None:
        return None
    email = value.strip().lower()
    if not email:
        return None
    if not _EMAIL.match(email) or len(email) > 254:
        raise InputError(f"malformed email address {value!r}")
    return email


def email_hash(email: str) -> str:
    """MD5 hex of the lowercased email: Mailchimp's member id and our suppression key."""
    return hashlib.md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def digest(*parts: object) -> str:
    """A short stable SHA-256 digest of some values (for audit before/after and stable ids)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:32]
