"""How a sponsor is shown in public: as they chose, and never with a contact detail."""

from __future__ import annotations

import re

from vwfund.campaigns.walk.totals import Gift

_EMAIL_LIKE = re.compile(r"[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+")
_PHONE_LIKE = re.compile(r"\+?\d[\d ()./-]{7,}\d")
HIDDEN = "[…]"


def _hide_phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return HIDDEN if digits >= 9 else match.group(0)


def scrub(text: str | None) -> str | None:
    """Public text with anything that looks like an email address or a phone number taken out."""
    if text is None:
        return None
    cleaned = _PHONE_LIKE.sub(_hide_phone, _EMAIL_LIKE.sub(HIDDEN, text)).strip()
    return cleaned or None


def sponsor_label(gift: Gift, anonymous: str) -> str:
    """The name shown for a gift: ``anonymous`` for anonymous gifts, else the public name the sponsor gave,
    else first name and the initial of the last name, else ``anonymous``."""
    if gift.anonymous:
        return anonymous
    public = scrub(gift.public_name)
    if public and HIDDEN not in public:
        return public
    first = scrub(gift.first_name)
    if first and HIDDEN not in first:
        last = (gift.last_name or "").strip()
        return f"{first} {last[0].upper()}." if last and last[0].isalpha() else first
    return anonymous


def sponsor_message(gift: Gift) -> str | None:
    """The public message of a gift, with contact details taken out."""
    return scrub(gift.public_message)
