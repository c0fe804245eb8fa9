"""Read the store once, aggregated in SQL, into a column-wise table of donors.

One query groups the store's counted gifts (the narrow ``counted_gifts`` table, which database triggers
keep equal to the counted, linked gifts of :mod:`vwfund.store.amounts`) by donor key (contact and
currency in one integer, :mod:`vwfund.store.donor_keys`), with
conditional sums over the organisation's calendar years. Instants are whole seconds since 1970 (UTC);
year starts are computed in the organisation's time zone and compared as such, so it works the same on
SQLite and PostgreSQL. The result is kept as columns (packed integer arrays indexed by row), not as an
object per donor.
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Connection, case, cast, func, literal, select

from vwfund.campaigns.segments.calendar import Ints, LocalDays, year_of
from vwfund.campaigns.segments.period import Period, epoch
from vwfund.store.donor_keys import CURRENCY_BITS, CURRENCY_MASK, contact_bounds, currency_of
from vwfund.store.schema import counted_gifts

MONEY_KINDS = ("total", "window", "this_year", "last_year")


def _column() -> array[int]:
    return array("q")


#: The per-donor columns of a DonorTable besides contact_id (money is kept per currency).
ROW_FIELDS = ("recency_days", "first_gift_year", "last_gift_year", "gifts", "gifts_window", "gifts_this_year",
              "gifts_last_year", "years")


@dataclass
class DonorTable:
    """Every contact with a counted gift before the cutoff, as columns (packed integer arrays) indexed by row.

    ``years`` is a bit mask: bit k set when the donor gave in calendar year ``period.year - k``.
    ``money[currency][kind]`` holds minor units per row for kind in total, window, this_year, last_year.
    """

    period: Period
    contact_id: array[int] = field(default_factory=_column)
    recency_days: array[int] = field(default_factory=_column)
    first_gift_year: array[int] = field(default_factory=_column)
    last_gift_year: array[int] = field(default_factory=_column)
    gifts: array[int] = field(default_factory=_column)
    gifts_window: array[int] = field(default_factory=_column)
    gifts_this_year: array[int] = field(default_factory=_column)
    gifts_last_year: array[int] = field(default_factory=_column)
    years: array[int] = field(default_factory=_column)
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
        for name in ("contact_id", *ROW_FIELDS):
            getattr(self, name).extend(getattr(other, name))
        for currency in self.money.keys() | other.money.keys():
            mine = self.money.setdefault(currency, {kind: array("q", bytes(8 * size)) for kind in MONEY_KINDS})
            for kind in MONEY_KINDS:
                mine[kind].extend(other.money_column(currency, kind))


#: Gift counts per year are packed seven to a sum, 9 bits each (the SQL does fewer aggregates that way);
#: a contact with more gifts in one currency than a field holds is counted one gift at a time instead.
FIELD_BITS = 9
YEARS_PER_SUM = 7
FIELD_MASK = (1 << FIELD_BITS) - 1
#: Gift counts and window gift counts share one sum: count + window_count * COUNT_SPLIT.
COUNT_SPLIT = 1 << 32


#: A range of contact ids, [first, end); None leaves that side open.
ContactRange = tuple[int | None, int | None]


def _aggregate_query(period: Period, contacts_in: ContactRange = (None, None)) -> Any:
    """One row per donor key (contact and currency): first and last gift, counts and sums, gifts per year
    (packed).

    The rows come in key order from the covering index of ``counted_gifts``, so nothing is sorted (the
    ORDER BY costs nothing there, and keeps a contact's currencies together on any database).
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
        packed.append(case(*whens, else_=literal(0)))
    sums = [
        # the gifts (low 32 bits) and those in the window (high bits) in one sum
        case((at >= window_start, literal(COUNT_SPLIT + 1)), else_=literal(1)),
        net,
        case((at >= this_year, net), else_=literal(0)),
        case((at >= last_year, net), else_=literal(0)),  # this year's and last year's together
        case((at >= window_start, net), else_=literal(0)),
        *packed,
    ]
    # sums come back as integers on both databases (PostgreSQL's sum of bigints is a numeric)
    columns = [g.donor_key, func.min(at), func.max(at), *(cast(func.sum(term), BigInteger) for term in sums)]
    first_key, end_key = contact_bounds(*contacts_in)
    stmt = select(*columns).where(at < epoch(period.cutoff))
    if first_key is not None:
        stmt = stmt.where(g.donor_key >= first_key)
    if end_key is not None:
        stmt = stmt.where(g.donor_key < end_key)
    return stmt.group_by(g.donor_key).order_by(g.donor_key)


def _exact_year_counts(conn: Connection, period: Period, key: int) -> list[int]:
    """Gifts per year for one donor key, counted one by one (for the rare very large giver)."""
    g = counted_gifts.c
    starts = [epoch(start) for start in period.year_starts]
    counts = [0] * len(starts)
    stmt = select(g.received_epoch).where(g.donor_key == key, g.received_epoch < epoch(period.cutoff))
    for (at,) in conn.execute(stmt):
        k = next((k for k, start in enumerate(starts) if at >= start), None)
        if k is not None:
            counts[k] += 1
    return counts


def _summarise(counts: Ints) -> Ints:
    """Gifts per year (one row per donor, one column per year, this year first) to four columns: the
    presence mask, the gifts in those years, this year's, last year's."""
    present = (counts > 0).astype(np.int64) << np.arange(counts.shape[1], dtype=np.int64)
    return np.stack([present.sum(axis=1), counts.sum(axis=1), counts[:, 0], counts[:, 1]], axis=1)


BATCH = 20_000


def read_donors(conn: Connection, period: Period, tz: str, contacts_in: ContactRange = (None, None)) -> DonorTable:
    """Aggregate every counted gift before the cutoff into a DonorTable (one streamed query), for every contact
    or for the contacts of one id range."""
    reader = _BatchReader(conn, period, tz)
    result = conn.execute(_aggregate_query(period, contacts_in).execution_options(yield_per=BATCH))
    held: list[Any] = []  # the rows of the last contact of a batch: its next currency may be in the next one
    with gc_paused():
        for batch in result.partitions():
            rows = held + list(batch)
            last_contact = rows[-1][0] >> CURRENCY_BITS
            cut = len(rows)
            while cut > 0 and rows[cut - 1][0] >> CURRENCY_BITS == last_contact:
                cut -= 1
            held = rows[cut:]
            if cut:
                reader.add(rows[:cut])
        if held:
            reader.add(held)
        return reader.finish()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a read building millions of rows creates no cycles, and the
    collector would otherwise walk every object again and again as they pile up."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _BatchReader:
    """Turns batches of (contact, currency) rows, each holding whole contacts, into the table's columns
    (every step on whole numpy columns)."""

    def __init__(self, conn: Connection, period: Period, tz: str) -> None:
        self.conn = conn
        self.period = period
        self.table = DonorTable(period)
        self.local_day = LocalDays(tz)
        self.as_of = period.as_of.toordinal()
        self.n_years = len(period.year_starts)
        self.older_bit = 1 << self.n_years
        self.money: dict[str, list[array[int]]] = {}

    def _years(self, keys: Ints, packed_sums: list[Any], gifts: Ints) -> Ints:
        """Per row: presence mask, gifts in the years kept apart, this year's, last year's (4 columns)."""
        sums = [_ints(column) for column in packed_sums]
        counts = np.stack([(sums[k // YEARS_PER_SUM] >> (FIELD_BITS * (k % YEARS_PER_SUM))) & FIELD_MASK
                           for k in range(self.n_years)], axis=1)
        for r in np.flatnonzero(gifts > FIELD_MASK):  # a packed field could have overflowed: count exactly
            counts[r] = _exact_year_counts(self.conn, self.period, int(keys[r]))
        return _summarise(counts)

    def add(self, rows: list[Any]) -> None:
        """Append the contacts of ``rows`` (rows of one contact are adjacent, none is in another batch)."""
        t = self.table
        columns = list(zip(*rows, strict=True))
        key, first, last, counts, total, s_this, s_recent, s_win = (_ints(column) for column in columns[:8])
        cid = key >> CURRENCY_BITS
        n, n_win = counts & (COUNT_SPLIT - 1), counts >> 32
        last_day = self.local_day.many(last)
        years = self._years(key, columns[8:], n)
        mask = np.where(n > years[:, 1], years[:, 0] | self.older_bit, years[:, 0])
        fields = [self.as_of - last_day, year_of(self.local_day.many(first)), year_of(last_day), n, n_win,
                  years[:, 2], years[:, 3], mask]
        new = np.ones(len(cid), dtype=np.bool_)
        new[1:] = cid[1:] != cid[:-1]
        starts = np.flatnonzero(new)
        if len(starts) < len(cid):  # some contacts gave in more than one currency: one row each, merged
            fields = [merge.reduceat(values, starts) for merge, values in zip(ROW_MERGES, fields, strict=True)]
        base = len(t.contact_id)
        t.contact_id.frombytes(cid[starts].tobytes())
        for name, values in zip(ROW_FIELDS, fields, strict=True):
            getattr(t, name).frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())
        size = len(t.contact_id)
        position = np.cumsum(new) - 1 + base
        currencies = key & CURRENCY_MASK
        amounts = (total, s_win, s_this, s_recent - s_this)
        for number in np.unique(currencies).tolist():
            cols = self.money.setdefault(currency_of(number), [array("q") for _ in MONEY_KINDS])
            chosen = currencies == number
            at = position[chosen]
            for col, values in zip(cols, amounts, strict=True):
                col.frombytes(bytes(8 * (size - len(col))))
                view = np.frombuffer(col, dtype=np.int64)
                view[at] = values[chosen]
                del view  # the array must not be resized while a view of it exists

    def finish(self) -> DonorTable:
        """The table, every money column as long as it."""
        t = self.table
        for currency, cols in self.money.items():
            for col in cols:
                col.frombytes(bytes(8 * (len(t) - len(col))))
            t.money[currency] = dict(zip(MONEY_KINDS, cols, strict=True))
        return t


def _ints(values: Sequence[int]) -> Ints:
    return np.fromiter(values, dtype=np.int64, count=len(values))


#: How the rows of one contact in several currencies merge, field by field (in the order of ROW_FIELDS).
ROW_MERGES = (np.minimum, np.minimum, np.maximum, np.add, np.add, np.add, np.add, np.bitwise_or)
