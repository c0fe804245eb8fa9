"""Donor keys: one integer for a contact and a currency, the key ``counted_gifts`` is grouped and read by.

``key = contact_id * 2**15 + number of the currency``, where a currency code of three capital letters
(ISO 4217) is read as a number in base 26 (``AAA`` is 0, ``ZZZ`` 17,575). A read that groups millions of
gifts per donor and currency compares one integer per gift instead of a pair of columns, one of them
text. The database triggers of migration 0013 compute the same keys.
"""

from __future__ import annotations

import re

CURRENCY_BITS = 15
CURRENCY_MASK = (1 << CURRENCY_BITS) - 1
_CODE = re.compile(r"[A-Z]{3}")
_A = ord("A")


def currency_number(code: str) -> int:
    """The number of a currency code of three capital letters (``EUR`` is 3,241)."""
    if not _CODE.fullmatch(code):
        raise ValueError(f"not a currency code of three capital letters: {code!r}")
    first, second, third = (ord(letter) - _A for letter in code)
    return first * 676 + second * 26 + third


def currency_of(number: int) -> str:
    """The currency code of a number made by :func:`currency_number`."""
    if not 0 <= number < 26**3:
        raise ValueError(f"not a currency number: {number}")
    return "".join(chr(_A + number // 26**k % 26) for k in (2, 1, 0))


def donor_key(contact_id: int, currency: str) -> int:
    """The key of a contact's gifts in one currency."""
    return (contact_id << CURRENCY_BITS) + currency_number(currency)


def contact_bounds(first: int | None, end: int | None) -> tuple[int | None, int | None]:
    """The donor keys of the contacts with ids in [first, end): every currency of each (None stays open)."""
    return (None if first is None else first << CURRENCY_BITS, None if end is None else end << CURRENCY_BITS)
