"""From a DonorTable to RFM scores, the standard segments, custom segments and retention rates.

RFM quintiles, with deterministic ties: a donor's score is ``1 + floor(5 * w / n)`` where ``n`` is the
number of donors scored and ``w`` the number of them with a strictly worse value. Equal values always get
the same score, whatever the contact ids or the order of rows, and a score never depends on how ties are
broken. Recency is worse when longer ago; frequency and monetary are worse when smaller. Monetary is
scored within each currency among the donors who ever gave in it (amounts of different currencies are
never added or compared); a donor who gave in two currencies takes the higher of the two scores.

The table's columns are taken as numpy arrays (without copying) and every rule is applied to whole
columns at once.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from vwfund.campaigns.segments.calendar import Ints
from vwfund.campaigns.segments.filters import fields_used
from vwfund.campaigns.segments.ledger import DonorTable
from vwfund.campaigns.segments.monthly_and_flags import ContactFlags
from vwfund.campaigns.segments.selection import compile_filter
from vwfund.campaigns.segments.settings import STANDARD_RULES, SegmentSettings
from vwfund.money import currency_exponent

Flags = npt.NDArray[np.bool_]


def column(values: Sequence[int]) -> Ints:
    """A column of the table as an int64 array (the table's packed arrays are shared, not copied)."""
    return np.frombuffer(values, dtype=np.int64) if isinstance(values, array) else np.asarray(values, dtype=np.int64)


def scores_of(values: Ints, higher_is_better: bool = True) -> Ints:
    """Score every value 1-5: ``1 + floor(5 * (number of strictly worse values) / len(values))``."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)  # ascending
    # how many values are worse: smaller ones when higher is better, else larger ones
    worse = np.cumsum(counts) - counts if higher_is_better else n - np.cumsum(counts)
    return (1 + (5 * worse) // n)[inverse.reshape(-1)]


def quintile_scores(values: Sequence[int], higher_is_better: bool = True) -> list[int]:
    """Score every value 1-5 (see :func:`scores_of`), as a list."""
    return [int(v) for v in scores_of(np.asarray(values, dtype=np.int64), higher_is_better)]


@dataclass
class RfmScores:
    """Recency, frequency and monetary scores per row of the DonorTable."""

    recency: Ints
    frequency: Ints
    monetary: Ints


def score_rfm(table: DonorTable) -> RfmScores:
    """Score every donor of the table (see the module docstring for ties and currencies)."""
    monetary = np.zeros(len(table), dtype=np.int64)
    for cols in table.money.values():
        gave = column(cols["total"]) > 0  # every counted gift adds more than nothing
        mine = np.zeros(len(table), dtype=np.int64)
        mine[gave] = scores_of(column(cols["window"])[gave])
        np.maximum(monetary, mine, out=monetary)
    return RfmScores(
        recency=scores_of(column(table.recency_days), higher_is_better=False),
        frequency=scores_of(column(table.gifts_window)),
        monetary=monetary,
    )


#: The standard segments decided by the years given in alone, from the year mask (bit 0: this year,
#: bit 1: last year, higher bits: earlier years).
BY_YEARS: dict[str, Callable[[Ints], Flags]] = {
    "new": lambda mask: mask == 1,
    "retained": lambda mask: mask & 3 == 3,
    "recaptured": lambda mask: (mask & 3 == 1) & (mask > 3),
    "lybunt": lambda mask: mask & 3 == 2,
    "sybunt": lambda mask: (mask & 3 == 0) & (mask > 0),
}


def standard_flags(table: DonorTable, monthly: set[int], settings: SegmentSettings) -> dict[str, Flags]:
    """Which rows are in every standard segment (the rules are in settings.STANDARD_RULES)."""
    years, gifts, window = column(table.years), column(table.gifts), column(table.gifts_window)
    out = {name: rule(years) for name, rule in BY_YEARS.items()}
    out["first_time"] = (gifts == 1) & (window == 1)
    out["lapsed"] = window == 0
    up = np.zeros(len(table), dtype=np.int64)
    down, same = up.copy(), up.copy()
    for cols in table.money.values():
        now, before = column(cols["this_year"]), column(cols["last_year"])
        both = (now > 0) & (before > 0)
        up += both & (now > before)
        down += both & (now < before)
        same += both & (now == before)
    retained = out["retained"]
    out["upgraded"] = retained & (up > 0) & (down == 0)
    out["downgraded"] = retained & (down > 0) & (up == 0)
    out["same"] = retained & (same > 0) & (up == 0) & (down == 0)
    out["monthly"] = contacts_in(table, monthly)
    major = np.zeros(len(table), dtype=np.bool_)
    for currency, minimum in settings.major_minimum.items():
        major |= column(table.money_column(currency, "window")) >= minimum
    out["major"] = major
    return {name: out[name] for name in STANDARD_RULES}


def contacts_in(table: DonorTable, ids: AbstractSet[int]) -> Flags:
    """Which rows are of the contacts ``ids``."""
    return np.isin(column(table.contact_id), np.fromiter(ids, dtype=np.int64, count=len(ids)))


def filter_columns(
    table: DonorTable, rfm: RfmScores, flags: ContactFlags, standard: dict[str, Flags], currency: str,
    needed: set[str],
) -> dict[str, Any]:
    """The columns a set of filters reads, by field name (built only when used)."""
    builders: dict[str, Callable[[], Any]] = {
        "rfm.recency": lambda: rfm.recency, "rfm.frequency": lambda: rfm.frequency,
        "rfm.monetary": lambda: rfm.monetary, "recency_days": lambda: column(table.recency_days),
        "gifts": lambda: column(table.gifts), "gifts_window": lambda: column(table.gifts_window),
        "gifts_this_year": lambda: column(table.gifts_this_year),
        "gifts_last_year": lambda: column(table.gifts_last_year),
        "first_gift_year": lambda: column(table.first_gift_year),
        "last_gift_year": lambda: column(table.last_gift_year),
        "total": lambda: column(table.money_column(currency, "total")),
        "total_window": lambda: column(table.money_column(currency, "window")),
        "total_this_year": lambda: column(table.money_column(currency, "this_year")),
        "total_last_year": lambda: column(table.money_column(currency, "last_year")),
        "opted_out": lambda: contacts_in(table, flags.opted_out),
        "do_not_email": lambda: contacts_in(table, flags.do_not_email),
        "monthly": lambda: standard["monthly"],
    }
    segment = "segment."
    return {name: standard[name.removeprefix(segment)] if name.startswith(segment) else builders[name]()
            for name in needed}


def custom_flags(
    table: DonorTable, rfm: RfmScores, flags: ContactFlags, standard: dict[str, Flags],
    settings: SegmentSettings,
) -> dict[str, Flags]:
    """Which rows are in every custom segment of the settings."""
    needed: set[str] = set()
    for seg in settings.custom:
        needed |= fields_used(seg.node)
    columns = filter_columns(table, rfm, flags, standard, settings.currency, needed)
    exponent = currency_exponent(settings.currency)
    out = {}
    for seg in settings.custom:
        select = compile_filter(seg.node, columns, exponent, seg.expression, f"[segments.custom] {seg.name}")
        out[seg.name] = np.asarray(select(len(table)), dtype=np.bool_)
    return out


def _rate(kept: int, base: int) -> str | None:
    if base == 0:
        return None
    return str((Decimal(100 * kept) / Decimal(base)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def retention(table: DonorTable) -> list[dict[str, Any]]:
    """Retention per calendar year, newest first: of last year's donors, how many gave again (also for the
    new donors of last year and for repeat donors apart). The reference year counts to the reference date."""
    year = table.period.year
    # one key per (year mask, first year): the mask above 16 bits, the year (0-65535) below
    keys, counts = np.unique((column(table.years) << 16) | column(table.first_gift_year), return_counts=True)
    groups = {(int(key) >> 16, int(key) & 0xFFFF): int(count) for key, count in zip(keys, counts, strict=True)}
    rows = []
    for k in range(len(table.period.year_starts) - 1):
        base = {"all": 0, "new": 0, "repeat": 0}
        kept = dict(base)
        prev_year = year - k - 1
        for (mask, first), count in groups.items():
            if not mask & (2 << k):
                continue
            kind = "new" if first == prev_year else "repeat"
            gave_again = bool(mask & (1 << k))
            for key in ("all", kind):
                base[key] += count
                kept[key] += count * gave_again
        rows.append({
            "year": year - k, "partial": k == 0,
            **{key: {"donors_year_before": base[key], "retained": kept[key], "rate_percent": _rate(kept[key], base[key])}
               for key in ("all", "new", "repeat")},
        })
    return rows


@dataclass
class Computed:
    """A computed set of segments: members (sorted contact ids) per segment, and figures about the run."""

    members: dict[str, list[int]] = field(default_factory=dict)
    retention: list[dict[str, Any]] = field(default_factory=list)
    donors: int = 0
    rfm_distribution: dict[str, dict[int, int]] = field(default_factory=dict)


def compute_segments(table: DonorTable, monthly: set[int], flags: ContactFlags,
                     settings: SegmentSettings) -> Computed:
    """Every standard and custom segment; contacts deleted, deceased, restricted or anonymised are left out."""
    rfm = score_rfm(table)
    standard = standard_flags(table, monthly, settings)
    rows = {**standard, **custom_flags(table, rfm, flags, standard, settings)}
    ids = column(table.contact_id)
    kept = ~contacts_in(table, flags.excluded)
    members = {name: np.sort(ids[in_segment & kept]).tolist() for name, in_segment in rows.items()}
    distribution = {name: {score: int(count) for score, count in enumerate(np.bincount(col)) if count}
                    for name, col in (("recency", rfm.recency), ("frequency", rfm.frequency),
                                      ("monetary", rfm.monetary))}
    return Computed(members=members, retention=retention(table), donors=len(table),
                    rfm_distribution=distribution)
