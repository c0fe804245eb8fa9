"""From a DonorTable to RFM scores, the standard segments, custom segments and retention rates.

RFM quintiles, with deterministic ties: a donor's score is ``1 + floor(5 * w / n)`` where ``n`` is the
number of donors scored and ``w`` the number of them with a strictly worse value. Equal values always get
the same score, whatever the contact ids or the order of rows, and a score never depends on how ties are
broken. Recency is worse when longer ago; frequency and monetary are worse when smaller. Monetary is
scored within each currency among the donors who ever gave in it (amounts of different currencies are
never added or compared); a donor who gave in two currencies takes the higher of the two scores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import compress
from typing import Any

from vwfund.campaigns.segments.filters import compile_filter, fields_used
from vwfund.campaigns.segments.ledger import ContactFlags, DonorTable
from vwfund.campaigns.segments.settings import STANDARD_RULES, SegmentSettings
from vwfund.money import currency_exponent


def quintile_scores(values: Sequence[int], higher_is_better: bool = True) -> list[int]:
    """Score every value 1-5: ``1 + floor(5 * (number of strictly worse values) / len(values))``."""
    n = len(values)
    if n == 0:
        return []
    counts = Counter(values)
    score_of: dict[int, int] = {}
    worse = 0
    for value in sorted(counts, reverse=not higher_is_better):  # worst first
        score_of[value] = 1 + (5 * worse) // n
        worse += counts[value]
    return [score_of[v] for v in values]


@dataclass
class RfmScores:
    """Recency, frequency and monetary scores per row of the DonorTable."""

    recency: list[int]
    frequency: list[int]
    monetary: list[int]


def score_rfm(table: DonorTable) -> RfmScores:
    """Score every donor of the table (see the module docstring for ties and currencies)."""
    monetary = [0] * len(table)
    for cols in table.money.values():
        rows = [i for i, total in enumerate(cols["total"]) if total > 0]
        window = cols["window"]
        for i, score in zip(rows, quintile_scores([window[i] for i in rows]), strict=True):
            if score > monetary[i]:
                monetary[i] = score
    return RfmScores(
        recency=quintile_scores(table.recency_days, higher_is_better=False),
        frequency=quintile_scores(table.gifts_window),
        monetary=monetary,
    )


def standard_rows(table: DonorTable, monthly: set[int], settings: SegmentSettings) -> dict[str, list[int]]:
    """Row indexes of every standard segment (the rules are in settings.STANDARD_RULES)."""
    out: dict[str, list[int]] = {name: [] for name in STANDARD_RULES}
    years, gifts, gifts_window = table.years, table.gifts, table.gifts_window
    for i, mask in enumerate(years):
        this, last, before = mask & 1, mask & 2, mask >> 2
        if this:
            if last:
                out["retained"].append(i)
            elif before:
                out["recaptured"].append(i)
            else:
                out["new"].append(i)
        elif last:
            out["lybunt"].append(i)
        elif before:
            out["sybunt"].append(i)
        if gifts[i] == 1 and gifts_window[i] == 1:
            out["first_time"].append(i)
        if gifts_window[i] == 0:
            out["lapsed"].append(i)
    pairs = [(cols["this_year"], cols["last_year"]) for cols in table.money.values()]
    for i in out["retained"]:
        up = down = same = 0
        for this_col, last_col in pairs:
            now, before_amount = this_col[i], last_col[i]
            if now > 0 and before_amount > 0:
                up += now > before_amount
                down += now < before_amount
                same += now == before_amount
        if up and not down:
            out["upgraded"].append(i)
        elif down and not up:
            out["downgraded"].append(i)
        elif same and not up and not down:
            out["same"].append(i)
    ids = table.contact_id
    out["monthly"] = [i for i, cid in enumerate(ids) if cid in monthly]
    major: set[int] = set()
    for currency, minimum in settings.major_minimum.items():
        window = table.money_column(currency, "window")
        major.update(i for i, amount in enumerate(window) if amount >= minimum)
    out["major"] = sorted(major)
    return out


def filter_columns(
    table: DonorTable, rfm: RfmScores, flags: ContactFlags, standard: dict[str, list[int]], currency: str,
    needed: set[str],
) -> dict[str, Any]:
    """The columns a set of filters reads, by field name (built only when used)."""
    builders: dict[str, Any] = {
        "rfm.recency": lambda: rfm.recency, "rfm.frequency": lambda: rfm.frequency,
        "rfm.monetary": lambda: rfm.monetary, "recency_days": lambda: table.recency_days,
        "gifts": lambda: table.gifts, "gifts_window": lambda: table.gifts_window,
        "gifts_this_year": lambda: table.gifts_this_year, "gifts_last_year": lambda: table.gifts_last_year,
        "first_gift_year": lambda: table.first_gift_year, "last_gift_year": lambda: table.last_gift_year,
        "total": lambda: table.money_column(currency, "total"),
        "total_window": lambda: table.money_column(currency, "window"),
        "total_this_year": lambda: table.money_column(currency, "this_year"),
        "total_last_year": lambda: table.money_column(currency, "last_year"),
        "opted_out": lambda: [cid in flags.opted_out for cid in table.contact_id],
        "do_not_email": lambda: [cid in flags.do_not_email for cid in table.contact_id],
        "monthly": lambda: _row_flags(len(table), standard["monthly"]),
    }
    for name in standard:
        builders[f"segment.{name}"] = lambda rows=standard[name]: _row_flags(len(table), rows)
    return {name: builders[name]() for name in needed}


def _row_flags(n: int, rows: list[int]) -> bytearray:
    flags = bytearray(n)
    for i in rows:
        flags[i] = 1
    return flags


def custom_rows(
    table: DonorTable, rfm: RfmScores, flags: ContactFlags, standard: dict[str, list[int]],
    settings: SegmentSettings,
) -> dict[str, list[int]]:
    """Row indexes of every custom segment of the settings."""
    needed: set[str] = set()
    for seg in settings.custom:
        needed |= fields_used(seg.node)
    columns = filter_columns(table, rfm, flags, standard, settings.currency, needed)
    exponent = currency_exponent(settings.currency)
    out = {}
    for seg in settings.custom:
        select = compile_filter(seg.node, columns, exponent, seg.expression, f"[segments.custom] {seg.name}")
        out[seg.name] = list(compress(range(len(table)), select(len(table))))
    return out


def _rate(kept: int, base: int) -> str | None:
    if base == 0:
        return None
    return str((Decimal(100 * kept) / Decimal(base)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def retention(table: DonorTable) -> list[dict[str, Any]]:
    """Retention per calendar year, newest first: of last year's donors, how many gave again (also for the
    new donors of last year and for repeat donors apart). The reference year counts to the reference date."""
    year = table.period.year
    groups = Counter(zip(table.years, table.first_gift_year, strict=True))
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
    standard = standard_rows(table, monthly, settings)
    rows = {**standard, **custom_rows(table, rfm, flags, standard, settings)}
    ids = table.contact_id
    excluded = flags.excluded
    members = {name: sorted(cid for cid in (ids[i] for i in idx) if cid not in excluded) for name, idx in rows.items()}
    distribution = {name: dict(sorted(Counter(col).items()))
                    for name, col in (("recency", rfm.recency), ("frequency", rfm.frequency),
                                      ("monetary", rfm.monetary))}
    return Computed(members=members, retention=retention(table), donors=len(table),
                    rfm_distribution=distribution)
