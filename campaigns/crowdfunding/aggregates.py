"""The campaign's gifts summed in SQL (one pass per question), with the core rule's SQL forms.

Money raised uses :func:`vwfund.store.amounts.counted_expr` (``amount - refunded`` for succeeded gifts,
0 otherwise), a gift counts as a gift by :func:`vwfund.store.amounts.is_counted_expr`, and a fee belongs
with a gift whose status counts, as :func:`vwfund.store.amounts.fee_counted_minor` says. Summing in the
database keeps a campaign of 100,000 gifts fast enough for a live feed; days are built from quarter-hour
buckets (every time zone's offset is a multiple of 15 minutes) mapped to the organisation's local days.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, String, and_, case, cast, func, literal, select
from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign

from vwfund.store.amounts import COUNTED, counted_expr, is_counted_expr
from vwfund.store.schema import donations

BUCKET_SECONDS = 900
d = donations.c


@dataclass(frozen=True)
class GiftGroup:
    """Sums for gifts sharing a channel, currency, matched flag and place in time (before/in/after)."""

    channel: str
    currency: str
    matched: bool
    window: str
    rows: int
    gross_minor: int
    refunds_minor: int
    counted_minor: int
    fees_minor: int
    gifts: int


@dataclass
class GiftAggregates:
    """Everything the status needs from the store, already summed."""

    groups: list[GiftGroup] = field(default_factory=list)
    #: quarter-hour bucket start (UTC) -> (gifts, money raised), donors' gifts in the campaign's currency
    buckets: dict[datetime, tuple[int, int]] = field(default_factory=dict)
    #: counted amount of one gift -> how many gifts had it (for the median)
    amounts: Counter[int] = field(default_factory=Counter)
    donors: int = 0
    not_counted: dict[str, int] = field(default_factory=dict)


def _bucket(conn: Connection) -> Any:
    """SQL: the quarter-hour bucket of ``received_at`` as whole Unix seconds / 900."""
    if conn.dialect.name == "sqlite":  # naive UTC text: strftime('%s') gives Unix seconds
        return cast(func.strftime("%s", d.received_at), Integer) // BUCKET_SECONDS
    return cast(func.floor(func.extract("epoch", d.received_at) / BUCKET_SECONDS), BigInteger)


def _donor_key() -> Any:
    """SQL: one key per donor (the contact; else the contact reference; else the gift itself)."""
    return case(
        (d.contact_id.is_not(None), literal("c:") + cast(d.contact_id, String)),
        (d.contact_external_id.is_not(None), literal("r:") + d.contact_source + ":" + d.contact_external_id),
        else_=literal("g:") + d.source + ":" + d.external_id,
    )


def read_aggregates(conn: Connection, campaign: CrowdfundingCampaign) -> GiftAggregates:
    """Sum the gifts attributed to ``campaign`` (``donation.campaign == code``)."""
    counted, is_counted = counted_expr(donations), is_counted_expr(donations)
    status_counts = and_(d.status.in_(COUNTED), d.is_test.is_(False))
    of_campaign = and_(d.campaign == campaign.code, status_counts)
    donors_gifts = and_(of_campaign, d.currency == campaign.currency, d.matched.is_(False))
    channel = func.coalesce(d.channel, d.source)
    window = case((d.received_at < campaign.starts_at, "before"), (d.received_at >= campaign.ends_at, "after"),
                  else_="in")
    out = GiftAggregates()
    rows = conn.execute(
        select(channel, d.currency, d.matched, window, func.count(), func.sum(d.amount_minor),
               func.sum(d.refunded_minor), func.sum(counted), func.sum(d.fee_minor),
               func.sum(case((is_counted, 1), else_=0)))
        .where(of_campaign).group_by(channel, d.currency, d.matched, window)
    )
    out.groups = [GiftGroup(str(r[0]), r[1], bool(r[2]), r[3], *(int(v or 0) for v in r[4:])) for r in rows]
    bucket = _bucket(conn)
    for b, gifts, raised in conn.execute(
        select(bucket, func.sum(case((is_counted, 1), else_=0)), func.sum(counted))
        .where(donors_gifts).group_by(bucket)
    ):
        start = datetime.fromtimestamp(int(b) * BUCKET_SECONDS, UTC)
        before = out.buckets.get(start, (0, 0))
        out.buckets[start] = (before[0] + int(gifts), before[1] + int(raised))
    amount = d.amount_minor - d.refunded_minor
    out.amounts = Counter({int(v): int(n) for v, n in conn.execute(
        select(amount, func.count()).where(donors_gifts, is_counted).group_by(amount))})
    out.donors = int(conn.execute(
        select(func.count(func.distinct(_donor_key()))).where(donors_gifts, is_counted)).scalar_one())
    out.not_counted = count_not_counted(conn, campaign.code)
    return out


def count_not_counted(conn: Connection, code: str) -> dict[str, int]:
    """Gifts attributed to the campaign that add nothing, by reason (their status, or ``test``)."""
    counts: Counter[str] = Counter()
    rows = conn.execute(select(d.status, d.is_test, func.count()).where(d.campaign == code)
                        .group_by(d.status, d.is_test))
    for status, is_test, n in rows:
        if is_test:
            counts["test"] += n
        elif status not in COUNTED:
            counts[status] += n
    return dict(counts)
