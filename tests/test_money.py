"""Money: exact minor units, currency-aware, parsed from text, never from float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vwfund.errors import CurrencyError, InputError
from vwfund.money import CURRENCY_EXPONENTS, Money, currency_exponent, parse_decimal, total

currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
minor_units = st.integers(min_value=-(10**15), max_value=10**15)


@given(minor_units, currencies)
def test_decimal_round_trip_is_exact(minor, currency):
    m = Money(minor, currency)
    assert Money.from_decimal(m.amount, currency) == m
    assert Money.parse(str(m.amount), currency) == m


@given(st.integers(0, 10**12), currencies)
def test_parse_accepts_comma_or_point_decimals(minor, currency):
    exp = currency_exponent(currency)
    text = str(Money(minor, currency).amount)
    if exp:
        assert Money.parse(text.replace(".", ","), currency).minor == minor
    assert Money.parse(text, currency).minor == minor


@given(st.lists(minor_units, max_size=50), currencies)
def test_sum_equals_sum_of_minor_units(values, currency):
    assert total((Money(v, currency) for v in values), currency).minor == sum(values)
    assert sum((Money(v, currency) for v in values), Money.zero(currency)).minor == sum(values)


def test_different_currencies_never_add():
    with pytest.raises(CurrencyError, match="cannot combine EUR with USD"):
        Money(100, "EUR") + Money(100, "USD")


def test_exponents_of_zero_and_three_decimal_currencies():
    assert currency_exponent("JPY") == 0 and currency_exponent("KWD") == 3 and currency_exponent("eur") == 2
    assert Money.parse("1500", "JPY").minor == 1500
    assert Money.parse("1.500", "KWD").minor == 1500
    with pytest.raises(InputError, match="more decimals than JPY"):
        Money.parse("15.5", "JPY")


@pytest.mark.parametrize("text,minor", [("12,50", 1250), ("12.50", 1250), ("1.234,56", 123456), ("1,234.56", 123456),
                                        ("1 234,56", 123456), ("0,125", None), ("1.234", None), ("1,234", None),
                                        ("12.5.0", None), ("abc", None), ("", None), ("1e3", None)])
def test_typed_amounts(text, minor):
    if minor is None:
        with pytest.raises(InputError):
            Money.parse(text, "EUR")
    else:
        assert Money.parse(text, "EUR").minor == minor


def test_never_a_float_and_unknown_currency_refused():
    with pytest.raises(TypeError):
        Money(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.from_decimal(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(CurrencyError, match="unknown currency 'EUX'"):
        Money(1, "EUX")


def test_immutable_and_hashable():
    m = Money(100, "EUR")
    with pytest.raises(AttributeError):
        m.minor = 5  # type: ignore[misc]
    assert {m, Money(100, "EUR")} == {m}


@pytest.mark.parametrize("locale,expected", [("nl_NL", Decimal("1234.5")), ("nl_BE", Decimal("1234.5")),
                                             ("fr_BE", Decimal("1234.5")), ("en", Decimal("1234.5"))])
def test_locale_formatting_reads_back_as_the_same_number(locale, expected):
    from babel.numbers import parse_decimal as babel_parse

    text = Money(123450, "EUR").format(locale)
    digits = "".join(ch for ch in text if ch.isdigit() or ch in ",. \u202f\u00a0").strip()
    assert babel_parse(digits.replace("\u202f", "\u00a0"), locale=locale) == expected
    assert "€" in text


def test_parse_decimal_keeps_three_digit_fractions_for_three_decimal_currencies():
    assert parse_decimal("1,234", 3) == Decimal("1.234")
