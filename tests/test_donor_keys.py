"""Donor keys: a contact and a currency in one integer, and back."""

from __future__ import annotations

import pytest

from vwfund.money import CURRENCY_EXPONENTS
from vwfund.store.donor_keys import CURRENCY_BITS, contact_bounds, currency_number, currency_of, donor_key


def test_every_currency_has_its_own_number_that_reads_back():
    numbers = {code: currency_number(code) for code in CURRENCY_EXPONENTS}
    assert len(set(numbers.values())) == len(numbers)
    assert all(0 <= n < 1 << CURRENCY_BITS and currency_of(n) == code for code, n in numbers.items())


def test_keys_keep_contacts_in_order_with_their_currencies_together():
    keys = sorted(donor_key(contact, code) for contact in (1, 2, 10**9) for code in ("ZWL", "AED", "EUR"))
    assert [k >> CURRENCY_BITS for k in keys] == [1, 1, 1, 2, 2, 2, 10**9, 10**9, 10**9]
    first, end = contact_bounds(2, 3)
    assert [k for k in keys if first <= k < end] == sorted(donor_key(2, c) for c in ("ZWL", "AED", "EUR"))
    assert contact_bounds(None, 5) == (None, 5 << CURRENCY_BITS)


@pytest.mark.parametrize("code", ["eur", "EU", "EURO", "E1R", ""])
def test_anything_but_three_capital_letters_is_refused(code):
    with pytest.raises(ValueError, match="three capital letters"):
        currency_number(code)
