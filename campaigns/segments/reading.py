"""Everything a segments run reads from the store, split over processes when the store is large.

The donors are read in parts by contact id (every part a range of ids, the ranges together covering all),
the first parts by helper processes and the last by this one, which also reads the monthly donors and the
flags; all in one snapshot of the store (:mod:`vwfund.store.parts`). Below ``PARALLEL_MIN_GIFTS`` stored
gifts, or with ``workers = 1``, it is one read here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection, func, select

from vwfund.campaigns.segments.ledger import (
    ContactFlags,
    ContactRange,
    DonorTable,
    Period,
    read_donors,
    read_flags,
    read_monthly,
)
from vwfund.store.database import Store
from vwfund.store.parts import read_in_parts
from vwfund.store.schema import counted_gifts

#: Below this many stored gifts a second process costs more than it saves.
PARALLEL_MIN_GIFTS = 200_000


@dataclass
class Inputs:
    """The donors, the active monthly donors and the flagged contacts, read in one snapshot."""

    table: DonorTable
    monthly: set[int]
    flags: ContactFlags
    parts: int = 1
    timing: dict[str, float] = field(default_factory=dict)


def contact_ranges(conn: Connection, workers: int) -> list[ContactRange]:
    """Split the contacts with counted gifts into ``workers`` id ranges (one when the store is small).

    The first range is open below and the last open above, so together they cover every id, whatever is
    written after the bounds were read.
    """
    g = counted_gifts.c
    gifts = conn.execute(select(func.max(g.donation_id))).scalar() or 0
    if workers <= 1 or gifts < PARALLEL_MIN_GIFTS:
        return [(None, None)]
    low = conn.execute(select(func.min(g.contact_id))).scalar() or 0
    high = conn.execute(select(func.max(g.contact_id))).scalar() or 0
    cuts = sorted({low + (high - low + 1) * k // workers for k in range(1, workers)} - {low})
    bounds: list[int | None] = [None, *cuts, None]
    return [(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]


def read_inputs(store: Store, period: Period, tz: str, workers: int) -> Inputs:
    """Read what a run needs at ``period``, over up to ``workers`` processes."""
    started = time.perf_counter()
    with store.read() as conn:
        ranges = contact_ranges(conn, workers)
    jobs = [partial(read_donors, period=period, tz=tz, contacts_in=part) for part in ranges[:-1]]
    with read_in_parts(store, jobs) as (conn, helpers):
        table = read_donors(conn, period, tz, ranges[-1])
        own_at = time.perf_counter()
        monthly = read_monthly(conn, period)
        flags = read_flags(conn)
        flags_at = time.perf_counter()
        parts = helpers.results()
    if parts:
        whole = parts[0]
        for part in [*parts[1:], table]:
            whole.extend(part)
        table = whole
    done = time.perf_counter()
    return Inputs(table, monthly, flags, parts=len(ranges), timing={
        "ledger": (own_at - started) + (done - flags_at), "monthly_and_flags": flags_at - own_at})
