"""Everything a segments run reads from the store, split over processes when the store is large.

The donors are read in parts by contact id (every part a range of ids, the ranges together covering all),
the first parts by helper processes and the last by this one, while one more helper reads the monthly
donors and the flags (mostly waiting on the disk, so it overlaps well); all in one snapshot of the store
(:mod:`vwfund.store.parts`). Below ``PARALLEL_MIN_GIFTS`` stored gifts, or with ``workers = 1``, it is one
read here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, func, select

from vwfund.campaigns.segments.ledger import ContactRange, DonorTable, read_donors
from vwfund.campaigns.segments.monthly_and_flags import ContactFlags, read_monthly_and_flags
from vwfund.campaigns.segments.period import Period
from vwfund.store.database import Store
from vwfund.store.donor_keys import CURRENCY_BITS
from vwfund.store.parts import read_in_parts, snapshot
from vwfund.store.schema import counted_gifts

#: Below this many stored gifts a second process costs more than it saves.
PARALLEL_MIN_GIFTS = 200_000
#: A helper also sends its result, which costs it more than this process takes to receive it, so this
#: process's own range of contacts is a little larger.
OWN_SHARE = 1.15


@dataclass
class Inputs:
    """The donors, the active monthly donors and the flagged contacts, read in one snapshot."""

    table: DonorTable
    monthly: set[int]
    flags: ContactFlags
    parts: int = 1
    processes: int = 1
    timing: dict[str, float] = field(default_factory=dict)


def contact_ranges(conn: Connection, workers: int) -> list[ContactRange]:
    """Split the contacts with counted gifts into ``workers`` id ranges (one when the store is small), the
    last one, read by this process, a little larger.

    The first range is open below and the last open above, so together they cover every id, whatever is
    written after the bounds were read.
    """
    g = counted_gifts.c
    gifts = conn.execute(select(func.max(g.donation_id))).scalar() or 0  # the gifts stored, about: instant
    if workers <= 1 or gifts < PARALLEL_MIN_GIFTS:
        return [(None, None)]
    low = (conn.execute(select(func.min(g.donor_key))).scalar() or 0) >> CURRENCY_BITS
    high = (conn.execute(select(func.max(g.donor_key))).scalar() or 0) >> CURRENCY_BITS
    weights = [1.0] * (workers - 1) + [OWN_SHARE]
    whole = sum(weights)
    cuts = sorted({low + int((high - low + 1) * sum(weights[:k]) / whole) for k in range(1, workers)} - {low})
    bounds: list[int | None] = [None, *cuts, None]
    return [(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]


def read_inputs(store: Store, period: Period, tz: str, workers: int) -> Inputs:
    """Read what a run needs at ``period``, over up to ``workers`` processes."""
    started = time.perf_counter()
    with store.read() as conn:
        ranges = contact_ranges(conn, workers)
    if len(ranges) == 1:
        with snapshot(store) as conn:
            table = read_donors(conn, period, tz)
            own_at = time.perf_counter()
            monthly, flags = read_monthly_and_flags(conn, period)
        return Inputs(table, monthly, flags, timing={"ledger": own_at - started,
                                                     "monthly_and_flags": time.perf_counter() - own_at})
    jobs: list[Callable[[Connection], Any]] = [partial(read_monthly_and_flags, period=period)]
    jobs += [partial(read_donors, period=period, tz=tz, contacts_in=part) for part in ranges[:-1]]
    with read_in_parts(store, jobs) as (conn, helpers):
        table = read_donors(conn, period, tz, ranges[-1])
        own_at = time.perf_counter()
        processes = 1 + len(jobs) if helpers.forked else 1
        (monthly, flags), *parts = helpers.results()
    whole = parts[0]
    for part in [*parts[1:], table]:
        whole.extend(part)
    return Inputs(whole, monthly, flags, parts=len(ranges), processes=processes, timing={
        "ledger": own_at - started, "waiting_for_helpers": time.perf_counter() - own_at})
