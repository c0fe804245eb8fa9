"""Read the store once, aggregated in SQL, into a column-wise table of donors.

One query groups the counted gifts (:mod:`vwfund.store.amounts`) by contact and currency, with
conditional sums over the organisation's calendar years (year starts are computed in its time zone and
compared as UTC instants, so it works the same on SQLite and PostgreSQL). The result is kept as columns
(lists and arrays indexed by row), not as an object per donor.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.types import TypeDecorator

from vwfund.campaigns.segments.settings import SegmentSettings
from vwfund.store.amounts import is_counted_expr
from vwfund.store.schema import contacts, donations, recurring_plans
from vwfund.timeutil import day_bounds, zone

#: Plan statuses that mean the plan no longer runs (when no end date is known).
ENDED_PLAN_STATUSES = ("canceled", "cancelled", "ended", "incomplete_expired", "expired")
MONEY_KINDS = ("total", "window", "this_year", "last_year")


@dataclass(frozen=True)
class Period:
    """The reference date and the instants derived from it in the organisation's calendar."""

    as_of: date
    cutoff: datetime
    year: int
    year_starts: tuple[datetime, ...]
    window_start: datetime
    monthly_start: datetime

    @property
    def years(self) -> tuple[int, ...]:
        """The calendar years kept apart, newest first (``year_starts[k]`` starts ``years[k]``)."""
        return tuple(self.year - k for k in range(len(self.year_starts)))


def make_period(as_of: date, settings: SegmentSettings) -> Period:
    """Gifts up to the end of ``as_of`` (local) count; the window is the ``window_days`` days ending that day."""
    tz = settings.timezone
    cutoff = day_bounds(as_of, tz)[1]
    starts = tuple(day_bounds(date(as_of.year - k, 1, 1), tz)[0] for k in range(settings.history_years + 1))
    return Period(
        as_of=as_of,
        cutoff=cutoff,
        year=as_of.year,
        year_starts=starts,
        window_start=day_bounds(as_of - timedelta(days=settings.window_days - 1), tz)[0],
        monthly_start=day_bounds(as_of - timedelta(days=settings.monthly_recent_days - 1), tz)[0],
    )


@dataclass
class DonorTable:
    """Every contact with a counted gift before the cutoff, as columns indexed by row.

    ``years`` is a bit mask: bit k set when the donor gave in calendar year ``period.year - k``.
    ``money[currency][kind]`` holds minor units per row for kind in total, window, this_year, last_year.
    """

    period: Period
    contact_id: list[int] = field(default_factory=list)
    recency_days: list[int] = field(default_factory=list)
    first_gift_year: list[int] = field(default_factory=list)
    last_gift_year: list[int] = field(default_factory=list)
    gifts: list[int] = field(default_factory=list)
    gifts_window: list[int] = field(default_factory=list)
    gifts_this_year: list[int] = field(default_factory=list)
    gifts_last_year: list[int] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    money: dict[str, dict[str, array[int]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.contact_id)

    def money_column(self, currency: str, kind: str) -> array[int]:
        """A money column (zeros for a currency no donor used)."""
        cols = self.money.get(currency)
        return cols[kind] if cols is not None else array("q", bytes(8 * len(self)))


class _Raw(TypeDecorator[Any]):
    """The driver's own value (text on SQLite, datetime on PostgreSQL): parsed by LocalDays, not per row."""

    impl = String
    cache_ok = True


_RAW = _Raw()


class LocalDays:
    """Local calendar day of a stored instant, cached per UTC hour when the whole hour falls on one local day
    (always in zones with whole-hour offsets; in others the hour of a local midnight is converted exactly)."""

    def __init__(self, tz: str) -> None:
        self.zone = zone(tz)
        self.cache: dict[Any, date | None] = {}

    def _hour(self, hour_start: datetime) -> date | None:
        first = hour_start.astimezone(self.zone).date()
        last = (hour_start + timedelta(seconds=3599, microseconds=999_999)).astimezone(self.zone).date()
        return first if first == last else None

    def __call__(self, value: str | datetime) -> date:
        """The local day of a UTC instant given as stored text ("2025-01-01 00:30:00.000000") or a datetime."""
        if isinstance(value, str):
            key = value[:13]
            if key not in self.cache:
                self.cache[key] = self._hour(datetime.fromisoformat(key + ":00").replace(tzinfo=UTC))
            found = self.cache[key]
            if found is None:
                return datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(self.zone).date()
            return found
        instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        hour = instant.replace(minute=0, second=0, microsecond=0)
        if hour not in self.cache:
            self.cache[hour] = self._hour(hour)
        found = self.cache[hour]
        return found if found is not None else instant.astimezone(self.zone).date()


#: Gift counts per year are packed three to a sum, 21 bits each (the SQL does fewer aggregates that way).
FIELD_BITS = 21
YEARS_PER_SUM = 3
FIELD_MASK = (1 << FIELD_BITS) - 1


def _aggregate_query(period: Period) -> Any:
    """One row per contact and currency: first and last gift, counts and sums, gifts per year (packed).

    Rows are restricted by :func:`is_counted_expr`, under which a gift's counted amount
    (``vwfund.store.amounts.counted_expr``) is ``amount - refunded``; the sums add that difference
    directly, so the per-row work stays small. The cutoff is wrapped in a CASE so that the planner does not
    walk the received_at index (nearly every gift is before the cutoff); the rows come in contact order
    from the covering index of :mod:`vwfund.campaigns.segments.tables`, so nothing is sorted.
    """
    d = donations.c
    at = d.received_at
    net = d.amount_minor - d.refunded_minor
    starts = period.year_starts
    this_year, last_year = starts[0], starts[1]
    packed = []
    for first in range(0, len(starts), YEARS_PER_SUM):
        whens: list[tuple[Any, Any]] = [(at >= starts[first - 1], literal(0))] if first else []
        whens += [(at >= starts[k], literal(1 << (FIELD_BITS * (k - first))))
                  for k in range(first, min(first + YEARS_PER_SUM, len(starts)))]
        packed.append(func.sum(case(*whens, else_=literal(0))))
    columns = [
        d.contact_id, d.currency, type_coerce(func.min(at), _RAW), type_coerce(func.max(at), _RAW), func.count(),
        func.sum(net),
        func.sum(case((at >= this_year, net), else_=literal(0))),
        func.sum(case((at >= this_year, literal(0)), (at >= last_year, net), else_=literal(0))),
        func.sum(case((at >= period.window_start, literal(1)), else_=literal(0))),
        func.sum(case((at >= period.window_start, net), else_=literal(0))),
        *packed,
    ]
    return (
        select(*columns)
        .where(case((at < period.cutoff, 1), else_=0) == 1, is_counted_expr(donations))
        .group_by(d.contact_id, d.currency)
    )


def _exact_year_counts(conn: Connection, period: Period, contact_id: int, currency: str) -> list[int]:
    """Gifts per year for one contact and currency, counted one by one (for the rare very large giver)."""
    d = donations.c
    counts = [0] * len(period.year_starts)
    stmt = select(d.received_at).where(d.contact_id == contact_id, d.currency == currency,
                                       d.received_at < period.cutoff, is_counted_expr(donations))
    for (at,) in conn.execute(stmt):
        k = next((k for k, start in enumerate(period.year_starts) if at >= start), None)
        if k is not None:
            counts[k] += 1
    return counts


def _put(col: array[int], i: int, value: int) -> None:
    """Set row ``i`` of a money column, padding with zeros for the rows that had no gift in that currency."""
    size = len(col)
    if size == i:
        col.append(value)
    elif size < i:
        col.extend(array("q", bytes(8 * (i - size))))
        col.append(value)
    else:
        col[i] = value


def _year_decoder(n_years: int) -> Any:
    """Decode packed per-year counts to (presence mask, gifts in those years, this year's, last year's);
    results are cached, as donors share few distinct patterns."""
    bits = [(k // YEARS_PER_SUM, FIELD_BITS * (k % YEARS_PER_SUM), 1 << k) for k in range(n_years)]
    cache: dict[tuple[Any, ...], tuple[int, int, int, int]] = {}

    def decode(packed: tuple[Any, ...]) -> tuple[int, int, int, int]:
        found = cache.get(packed)
        if found is None:
            sums = [int(v) for v in packed]
            counts = [(sums[j] >> shift) & FIELD_MASK for j, shift, _bit in bits]
            found = cache[packed] = _summarise(counts)
        return found

    return decode


def _summarise(counts: list[int]) -> tuple[int, int, int, int]:
    mask = 0
    for k, count in enumerate(counts):
        if count:
            mask |= 1 << k
    return mask, sum(counts), counts[0], counts[1]


def read_donors(conn: Connection, period: Period, tz: str) -> DonorTable:
    """Aggregate every counted gift before the cutoff into a DonorTable (one streamed query)."""
    t = DonorTable(period)
    index: dict[int, int] = {}
    local_day = LocalDays(tz)
    as_of = period.as_of
    n_years = len(period.year_starts)
    older_bit = 1 << n_years
    decode = _year_decoder(n_years)
    money: dict[str, tuple[array[int], ...]] = {}
    stmt = _aggregate_query(period).execution_options(yield_per=20_000)
    for row in conn.execute(stmt):
        cid, currency, first, last, n, total, s_this, s_last, n_win, s_win = row[:10]
        if cid is None:  # gifts not linked to any contact
            continue
        if n > FIELD_MASK:  # a packed field could have overflowed: count this one exactly
            mask, in_years, n_this, n_last = _summarise(_exact_year_counts(conn, period, cid, currency))
        else:
            mask, in_years, n_this, n_last = decode(tuple(row[10:]))
        if n > in_years:
            mask |= older_bit
        last_local = local_day(last)
        i = index.get(cid)
        if i is None:
            i = index[cid] = len(t.contact_id)
            t.contact_id.append(cid)
            t.recency_days.append((as_of - last_local).days)
            t.first_gift_year.append(local_day(first).year)
            t.last_gift_year.append(last_local.year)
            t.gifts.append(n)
            t.gifts_window.append(n_win)
            t.gifts_this_year.append(n_this)
            t.gifts_last_year.append(n_last)
            t.years.append(mask)
        else:  # the same donor in a second currency
            t.recency_days[i] = min(t.recency_days[i], (as_of - last_local).days)
            t.first_gift_year[i] = min(t.first_gift_year[i], local_day(first).year)
            t.last_gift_year[i] = max(t.last_gift_year[i], last_local.year)
            t.gifts[i] += n
            t.gifts_window[i] += n_win
            t.gifts_this_year[i] += n_this
            t.gifts_last_year[i] += n_last
            t.years[i] |= mask
        cols = money.get(currency)
        if cols is None:
            cols = money[currency] = tuple(array("q") for _ in MONEY_KINDS)
        total_col, window_col, this_col, last_col = cols
        if len(total_col) == i:  # the usual case: the next row of this currency's columns
            total_col.append(int(total))
            window_col.append(int(s_win))
            this_col.append(int(s_this))
            last_col.append(int(s_last))
        else:
            for col, amount in zip(cols, (total, s_win, s_this, s_last), strict=True):
                _put(col, i, int(amount))
    for currency, cols in money.items():
        for col in cols:
            if len(col) < len(t.contact_id):
                col.extend(array("q", bytes(8 * (len(t.contact_id) - len(col)))))
        t.money[currency] = dict(zip(MONEY_KINDS, cols, strict=True))
    return t


def read_monthly(conn: Connection, period: Period) -> set[int]:
    """Contacts with a monthly plan running at the cutoff and a counted payment on it in the recent days."""
    d, p = donations.c, recurring_plans.c
    running = or_(p.ended_at >= period.cutoff, and_(p.ended_at.is_(None), p.status.not_in(ENDED_PLAN_STATUSES)))
    stmt = (
        select(d.contact_id)
        .distinct()
        .select_from(donations.join(recurring_plans, and_(p.source == d.source, p.external_id == d.recurring_plan)))
        .where(
            d.contact_id.is_not(None),
            d.received_at >= period.monthly_start,
            d.received_at < period.cutoff,
            is_counted_expr(donations),
            p.interval == "month",
            p.started_at < period.cutoff,
            running,
        )
    )
    return {r[0] for r in conn.execute(stmt)}


@dataclass(frozen=True)
class ContactFlags:
    """Contacts with a flag set: those never put in a segment, and those who opted out or said no email."""

    excluded: frozenset[int]
    opted_out: frozenset[int]
    do_not_email: frozenset[int]


def read_flags(conn: Connection) -> ContactFlags:
    """Read the (few) contacts with a flag set."""
    c = contacts.c
    gone = or_(c.is_deleted.is_(True), c.is_deceased.is_(True), c.restricted.is_(True), c.anonymised_at.is_not(None))
    stmt = select(c.id, gone, c.is_opt_out, c.do_not_email).where(
        or_(gone, c.is_opt_out.is_(True), c.do_not_email.is_(True))
    )
    excluded, opted_out, no_email = set(), set(), set()
    for cid, is_gone, opt_out, dne in conn.execute(stmt):
        if is_gone:
            excluded.add(cid)
        if opt_out:
            opted_out.add(cid)
        if dne:
            no_email.add(cid)
    return ContactFlags(frozenset(excluded), frozenset(opted_out), frozenset(no_email))
