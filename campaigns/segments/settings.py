"""The segments' settings from ``[segments]`` and ``[segments.custom]`` in vwfund.toml, checked."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from vwfund.campaigns.segments.filters import Node, parse_filter
from vwfund.config import Config
from vwfund.errors import ConfigError, VwfundError
from vwfund.money import Money, currency_exponent

#: The standard segments, in the order they are shown; each is explained in :data:`STANDARD_RULES`.
STANDARD_RULES: dict[str, str] = {
    "new": "first counted gift ever in this calendar year",
    "first_time": "exactly one counted gift ever, given in the RFM window",
    "retained": "gave last calendar year and this year",
    "recaptured": "gave this year, not last year, but in some year before",
    "upgraded": "retained, and gave more this year than last year (in a currency used both years; none less)",
    "downgraded": "retained, and gave less this year than last year (in a currency used both years; none more)",
    "same": "retained, and gave the same amount both years in every currency used both years",
    "lapsed": "gave before, but not in the RFM window",
    "lybunt": "gave last calendar year but not this year",
    "sybunt": "gave in some year before last year, but neither last year nor this year",
    "monthly": "a monthly plan running at the reference date with a counted payment in the last "
               "monthly_recent_days",
    "major": "gave at least major_minimum in one currency in the RFM window",
}
#: Names a custom segment may not take.
RESERVED = frozenset(STANDARD_RULES)


@dataclass(frozen=True)
class CustomSegment:
    """A segment defined in the config by a filter expression."""

    name: str
    expression: str
    node: Node


@dataclass(frozen=True)
class SegmentSettings:
    """Everything a segments run needs from the configuration."""

    timezone: str
    currency: str
    window_days: int = 365
    history_years: int = 5
    monthly_recent_days: int = 45
    major_minimum: dict[str, int] = field(default_factory=dict)
    custom: tuple[CustomSegment, ...] = ()
    workers: int = 1

    def describe(self) -> dict[str, Any]:
        """The settings as stored with each run's definition."""
        return {"window_days": self.window_days, "history_years": self.history_years,
                "monthly_recent_days": self.monthly_recent_days, "timezone": self.timezone,
                "major_minimum": {c: str(Money(v, c).amount) for c, v in sorted(self.major_minimum.items())}}


def _money_setting(value: Any, currency: str, key: str) -> int:
    if isinstance(value, float):
        raise ConfigError(f"[segments] {key}: write the amount in quotes (\"{value}\") so it is read exactly")
    try:
        return Money.from_decimal(Decimal(str(value).strip().replace(",", ".")), currency).minor
    except (VwfundError, ArithmeticError, ValueError) as exc:
        raise ConfigError(f"[segments] {key}: {value!r} is not an amount in {currency}") from exc


def _major_minimum(value: Any, currency: str) -> dict[str, int]:
    if value is None:
        return {currency: _money_setting("1000", currency, "major_minimum")}
    if isinstance(value, dict):
        out: dict[str, int] = {}
        for code, amount in value.items():
            try:
                norm = Money(0, str(code)).currency
            except VwfundError as exc:
                raise ConfigError(f"[segments.major_minimum] {code}: {exc}") from exc
            out[norm] = _money_setting(amount, norm, f"major_minimum.{code}")
        return out
    return {currency: _money_setting(value, currency, "major_minimum")}


def _positive(config: Config, key: str, default: int) -> int:
    value = config.get_int("segments", key, default)
    if value < 1:
        raise ConfigError(f"[segments] {key} must be at least 1, not {value}")
    return value


def parse_custom(definitions: Any, currency: str = "EUR") -> tuple[CustomSegment, ...]:
    """Check ``[segments.custom]``: ``name = "expression"`` pairs; the first mistake is raised.

    Amount literals are checked against the organisation's currency (no more decimals than it has).
    """
    from vwfund.campaigns.segments.selection import compile_filter  # numpy: loaded when a config is read

    if definitions is None:
        return ()
    if not isinstance(definitions, dict):
        raise ConfigError("[segments] custom must be a table: [segments.custom] with name = \"expression\" lines")
    found = []
    for name, expression in definitions.items():
        where = f"[segments.custom] {name}"
        if not name.replace("_", "").replace("-", "").isalnum() or not name[0].isalpha() or len(name) > 60:
            raise ConfigError(f"{where}: a segment name is letters, digits, - and _ (60 at most), "
                              "starting with a letter")
        if name in RESERVED:
            raise ConfigError(f"{where}: {name!r} is a standard segment; choose another name")
        node = parse_filter(expression, list(STANDARD_RULES), where)
        compile_filter(node, defaultdict(list), currency_exponent(currency), expression, where)  # checks it
        found.append(CustomSegment(name, expression, node))
    return tuple(found)


def load_settings(config: Config) -> SegmentSettings:
    """Read and check the segments' settings (a bad value raises ConfigError naming it)."""
    currency = config.currency
    return SegmentSettings(
        timezone=config.timezone,
        currency=currency,
        window_days=_positive(config, "window_days", 365),
        history_years=min(_positive(config, "history_years", 5), 30),
        monthly_recent_days=_positive(config, "monthly_recent_days", 45),
        major_minimum=_major_minimum(config.get("segments", "major_minimum"), currency),
        custom=parse_custom(config.get("segments", "custom"), currency),
        workers=min(_positive(config, "workers", default_workers()), 64),
    )


def default_workers() -> int:
    """Processes a large run reads with by default: one per core, at most four."""
    return max(1, min(os.cpu_count() or 1, 4))
