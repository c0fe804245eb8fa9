"""Money as integer minor units of an ISO 4217 currency. Never a float.

>>> Money.parse("12,50", "EUR") + Money.parse("0.75", "EUR")
Money('13.25', 'EUR')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import total_ordering
from typing import Any

from babel.numbers import format_currency

from vwfund.errors import CurrencyError, InputError

# ISO 4217 active codes with their minor-unit exponent (2 unless listed otherwise).
_ISO_CODES = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BHD",
    "BIF",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CLP",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DJF",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GNF",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IQD",
    "IRR",
    "ISK",
    "JMD",
    "JOD",
    "JPY",
    "KES",
    "KGS",
    "KHR",
    "KMF",
    "KPW",
    "KRW",
    "KWD",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "LYD",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "OMR",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "PYG",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "RWF",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TND",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "UGX",
    "USD",
    "UYU",
    "UZS",
    "VES",
    "VND",
    "VUV",
    "WST",
    "XAF",
    "XCD",
    "XCG",
    "XOF",
    "XPF",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
    "CLF",
    "UYW",
]
_EXPONENT_OVERRIDES = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
CURRENCY_EXPONENTS: dict[str, int] = {code: _EXPONENT_OVERRIDES.get(code, 2) for code in _ISO_CODES}

#: Locales the charity writes in; any Babel locale works, these are tested.
SUPPORTED_LOCALES = ("nl_NL", "nl_BE", "fr_BE", "en")

_PLAIN = re.compile(r"^(?P<sign>[-+]?)(?P<int>\d+)(?:[.,](?P<frac>\d+))?$")
_GROUPED = re.compile(r"^(?P<sign>[-+]?)(?P<int>\d{1,3}(?:(?P<g>[., \u00a0'])\d{3})+)(?:(?P<d>[.,])(?P<frac>\d+))?$")


def currency_exponent(currency: str) -> int:
    """Return the number of minor-unit digits of an ISO 4217 code (EUR 2, JPY 0, KWD 3)."""
    code = normalise_currency(currency)
    return CURRENCY_EXPONENTS[code]


def normalise_currency(currency: str) -> str:
    """Upper-case and validate an ISO 4217 code; raise CurrencyError for an unknown one."""
    code = (currency or "").strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise CurrencyError(f"unknown currency {currency!r}: use an ISO 4217 code such as EUR")
    return code


def parse_decimal(text: str, exponent: int | None = None) -> Decimal:
    """Parse a decimal amount as people type it: "12.50", "12,50", "1.234,56", "1,234.56".

    An amount whose only separator could be either a decimal or a thousands separator
    ("1.234", "1,234" in a 2-decimal currency) is refused as ambiguous.
    """
    raw = (text or "").strip().replace("\u00a0", " ")
    if not raw:
        raise InputError("empty amount")
    plain = _PLAIN.match(raw)
    if plain:
        whole, frac = plain.group("int"), plain.group("frac")
        looks_grouped = frac is not None and len(frac) == 3 and len(whole) <= 3 and not whole.startswith("0")
        if looks_grouped and exponent != 3:
            # "1.234" or "1,234": a thousands separator or decimals? Refuse rather than guess.
            raise InputError(f"ambiguous amount {text!r}: write 1234 or 1234.00 (or 1.234,00)")
        return Decimal(f"{plain.group('sign')}{whole}.{frac or '0'}")
    grouped = _GROUPED.match(raw)
    if grouped:
        group_sep, dec_sep = grouped.group("g"), grouped.group("d")
        if dec_sep is not None and dec_sep == group_sep:
            raise InputError(f"malformed amount {text!r}")
        digits = grouped.group("int").replace(group_sep, "")
        frac = grouped.group("frac") or "0"
        return Decimal(f"{grouped.group('sign')}{digits}.{frac}")
    raise InputError(f"malformed amount {text!r}: expected a number such as 12.50 or 12,50")


@total_ordering
class Money:
    """An immutable amount: integer minor units of one ISO 4217 currency."""

    __slots__ = ("_currency", "_minor")
    _minor: int
    _currency: str

    def __init__(self, minor: int, currency: str) -> None:
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise TypeError("Money takes integer minor units; parse text with Money.parse")
        object.__setattr__(self, "_minor", minor)
        object.__setattr__(self, "_currency", normalise_currency(currency))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Money is immutable")

    @property
    def minor(self) -> int:
        """The amount in the currency's minor units (cents for EUR, yen for JPY)."""
        return self._minor

    @property
    def currency(self) -> str:
        """The ISO 4217 code."""
        return self._currency

    @property
    def amount(self) -> Decimal:
        """The amount as an exact Decimal in major units."""
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in a currency."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a typed amount ("12,50") in a currency; refuse more decimals than the currency has."""
        exponent = currency_exponent(currency)
        value = parse_decimal(text, exponent)
        return cls.from_decimal(value, currency, source=text)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str, source: str | None = None) -> Money:
        """Build from an exact Decimal (or its string); refuse sub-minor-unit precision and floats."""
        if isinstance(value, float):
            raise TypeError("Money never takes a float")
        exponent = currency_exponent(currency)
        try:
            dec = Decimal(value)
        except InvalidOperation as exc:
            raise InputError(f"malformed amount {source or value!r}") from exc
        if not dec.is_finite():
            raise InputError(f"malformed amount {source or value!r}")
        scaled = dec.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise InputError(
                f"amount {source or value!s} has more decimals than {currency.upper()} allows ({exponent})"
            )
        return cls(int(scaled), currency)

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._check(other).minor, self.currency)

    def __radd__(self, other: object) -> Money:
        if other == 0:  # lets sum() start from 0
            return self
        if not isinstance(other, Money):
            return NotImplemented
        return self.__add__(other)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._check(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.minor, self.currency) == (other.minor, other.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._check(other).minor

    def __hash__(self) -> int:
        return hash((self.minor, self.currency))

    def __bool__(self) -> bool:
        return self.minor != 0

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def format(self, locale: str = "nl_NL") -> str:
        """Format as the locale writes money (nl_NL: "€ 1.234,50"; fr_BE: "1 234,50 €"), every digit kept."""
        return format_currency(self.amount, self.currency, locale=locale, decimal_quantization=False)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form: the exact decimal as a string plus the minor units."""
        return {"amount": str(self.amount), "minor": self.minor, "currency": self.currency}


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum amounts that must all be in ``currency`` (an empty sum is zero in it)."""
    result = Money.zero(currency)
    for item in amounts:
        result = result + item
    return result


def format_minor(minor: int, currency: str, locale: str = "nl_NL") -> str:
    """Format integer minor units in a currency for a locale."""
    return Money(minor, currency).format(locale)
