"""Read the store once, aggregated in SQL, into a column-wise table of donors.

One query groups the store's counted gifts (the narrow ``counted_gifts`` table, which database triggers
keep equal to the counted, linked gifts of :mod:`vwfund.store.amounts`) by contact and currency, with
conditional sums over the organisation's calendar years. Instants are whole seconds since 1970 (UTC);
year starts are computed in the organisation's time zone and compared as such, so it works the same on
SQLite and PostgreSQL. The result is kept as columns (lists and arrays indexed by row), not as an object
per donor.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from vwfund.campaigns.segments.settings import SegmentSettings
from vwfund.store.amounts import is_counted_expr
from vwfund.store.schema import contacts, counted_gifts, donations, recurring_plans
from vwfund.timeutil import day_bounds, zone

#: Plan statuses that mean the plan no longer runs (when no end date is known).
ENDED_PLAN_STATUSES = ("canceled", "cancelled", "ended", "incomplete_expired", "expired")
MONEY_KINDS = ("total", "window", "this_year", "last_year")


def epoch(instant: datetime) -> int:
    """Whole seconds since 1970 of an aware instant (the unit of ``counted_gifts.received_epoch``)."""
    return int(instant.timestamp())


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

    def extend(self, other: DonorTable) -> None:
        """Append the rows of a table read for other contacts (the parts of a run never share a contact)."""
        size = len(self)
        for name in ("contact_id", "recency_days", "first_gift_year", "last_gift_year", "gifts", "gifts_window",
                     "gifts_this_year", "gifts_last_year", "years"):
            getattr(self, name).extend(getattr(other, name))
        for currency in self.money.keys() | other.money.keys():
            mine = self.money.setdefault(currency, {kind: array("q", bytes(8 * size)) for kind in MONEY_KINDS})
            for kind in MONEY_KINDS:
                mine[kind].extend(other.money_column(currency, kind))


class LocalDays:
    """Local calendar day of an instant in seconds since 1970, cached per UTC hour when the whole hour falls
    on one local day (always in zones with whole-hour offsets; in others the hour of a local midnight is
    converted exactly)."""

    def __init__(self, tz: str) -> None:
        self.zone = zone(tz)
        self.cache: dict[int, date | None] = {}

    def _hour(self, hour: int) -> date | None:
        first = datetime.fromtimestamp(hour * 3600, self.zone).date()
        last = datetime.fromtimestamp(hour * 3600 + 3599, self.zone).date()
        return first if first == last else None

    def __call__(self, seconds: int) -> date:
        """The local day of the instant ``seconds`` after 1970-01-01 00:00 UTC."""
        hour = seconds // 3600
        try:
            found = self.cache[hour]
        except KeyError:
            found = self.cache[hour] = self._hour(hour)
        return found if found is not None else datetime.fromtimestamp(seconds, self.zone).date()


#: Gift counts per year are packed seven to a sum, 9 bits each (the SQL does fewer aggregates that way);
#: a contact with more gifts in one currency than a field holds is counted one gift at a time instead.
FIELD_BITS = 9
YEARS_PER_SUM = 7
FIELD_MASK = (1 << FIELD_BITS) - 1


#: A range of contact ids, [first, end); None leaves that side open.
ContactRange = tuple[int | None, int | None]


def _aggregate_query(period: Period, contacts_in: ContactRange = (None, None)) -> Any:
    """One row per contact and currency: first and last gift, counts and sums, gifts per year (packed).

    The rows come in contact order from the covering index of ``counted_gifts``, so nothing is sorted.
    """
    g = counted_gifts.c
    at, net = g.received_epoch, g.net_minor
    starts = [epoch(start) for start in period.year_starts]
    this_year, last_year, window_start = starts[0], starts[1], epoch(period.window_start)
    packed = []
    for first in range(0, len(starts), YEARS_PER_SUM):
        whens: list[tuple[Any, Any]] = [(at >= starts[first - 1], literal(0))] if first else []
        whens += [(at >= starts[k], literal(1 << (FIELD_BITS * (k - first))))
                  for k in range(first, min(first + YEARS_PER_SUM, len(starts)))]
        packed.append(func.sum(case(*whens, else_=literal(0))))
    columns = [
        g.contact_id, g.currency, func.min(at), func.max(at), func.count(),
        func.sum(net),
        func.sum(case((at >= this_year, net), else_=literal(0))),
        func.sum(case((at >= this_year, literal(0)), (at >= last_year, net), else_=literal(0))),
        func.sum(case((at >= window_start, literal(1)), else_=literal(0))),
        func.sum(case((at >= window_start, net), else_=literal(0))),
        *packed,
    ]
    first_id, end_id = contacts_in
    stmt = select(*columns).where(at < epoch(period.cutoff))
    if first_id is not None:
        stmt = stmt.where(g.contact_id >= first_id)
    if end_id is not None:
        stmt = stmt.where(g.contact_id < end_id)
    return stmt.group_by(g.contact_id, g.currency)


def _exact_year_counts(conn: Connection, period: Period, contact_id: int, currency: str) -> list[int]:
    """Gifts per year for one contact and currency, counted one by one (for the rare very large giver)."""
    g = counted_gifts.c
    starts = [epoch(start) for start in period.year_starts]
    counts = [0] * len(starts)
    stmt = select(g.received_epoch).where(g.contact_id == contact_id, g.currency == currency,
                                          g.received_epoch < epoch(period.cutoff))
    for (at,) in conn.execute(stmt):
        k = next((k for k, start in enumerate(starts) if at >= start), None)
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


def read_donors(conn: Connection, period: Period, tz: str, contacts_in: ContactRange = (None, None)) -> DonorTable:
    """Aggregate every counted gift before the cutoff into a DonorTable (one streamed query), for every contact
    or for the contacts of one id range."""
    t = DonorTable(period)
    index: dict[int, int] = {}
    local_day = LocalDays(tz)
    as_of = period.as_of
    n_years = len(period.year_starts)
    older_bit = 1 << n_years
    decode = _year_decoder(n_years)
    money: dict[str, tuple[array[int], ...]] = {}
    stmt = _aggregate_query(period, contacts_in).execution_options(yield_per=20_000)
    for row in conn.execute(stmt):
        cid, currency, first, last, n, total, s_this, s_last, n_win, s_win = row[:10]
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
